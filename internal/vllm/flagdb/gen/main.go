// Command gen writes internal/vllm/flagdb/flags_gen.go from internal/vllm/flagdb/sources.
//
//	go run ./internal/vllm/flagdb/gen            (from the module root)
//	go generate ./internal/vllm/flagdb
//
// Flags: -dir is the flagdb package directory (default: found from the working directory).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vllmctl/vllmctl/internal/vllm/flagdb/internal/build"
)

func main() {
	dir := flag.String("dir", "", "the flagdb package directory (default: . when it holds sources/, else internal/vllm/flagdb)")
	flag.Parse()
	if *dir == "" {
		*dir = "internal/vllm/flagdb"
		if _, err := os.Stat("sources"); err == nil {
			*dir = "."
		}
	}
	src, err := build.Generate(os.DirFS(filepath.Join(*dir, "sources")))
	if err != nil {
		fmt.Fprintf(os.Stderr, "flagdb gen: %v (fix the source file named, then run again)\n", err)
		os.Exit(1)
	}
	out := filepath.Join(*dir, "flags_gen.go")
	if err := os.WriteFile(out, src, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "flagdb gen: %v\n", err)
		os.Exit(1)
	}
}

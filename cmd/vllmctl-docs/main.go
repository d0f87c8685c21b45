// Command vllmctl-docs writes vllmctl's CLI reference, docs/cli/*.md, from the
// command tree: one page per command and a README.md index. Run it from the
// module root after changing a command:
//
//	go run ./cmd/vllmctl-docs            # writes docs/cli
//	go run ./cmd/vllmctl-docs -dir OUT   # writes OUT
//
// `go test ./internal/cli` fails while docs/cli is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vllmctl/vllmctl/internal/cli"
)

func main() {
	dir := flag.String("dir", "", "folder to write (default: "+cli.ReferenceDir+", which needs the module root as working directory)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "vllmctl-docs: unexpected argument %q (usage: %s [-dir DIR])\n", flag.Arg(0), cli.RegenerateCommand)
		os.Exit(2)
	}
	if *dir == "" {
		if _, err := os.Stat("go.mod"); err != nil {
			fmt.Fprintf(os.Stderr, "vllmctl-docs: no go.mod here: run '%s' from the module root, or pass -dir\n", cli.RegenerateCommand)
			os.Exit(2)
		}
		*dir = cli.ReferenceDir
	}
	if err := cli.WriteReference(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "vllmctl-docs:", err)
		os.Exit(1)
	}
	fmt.Printf("vllmctl-docs: wrote %d pages to %s\n", len(cli.Reference()), *dir)
}

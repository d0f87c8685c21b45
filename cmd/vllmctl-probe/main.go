// Command vllmctl-probe is the healthcheck of the vllmctl image (FROM
// scratch: no shell, no curl): it GETs one URL and exits 0 when the answer
// is 2xx within the timeout, 1 otherwise, saying why on stderr.
//
//	vllmctl-probe http://127.0.0.1:8080/health
//
// Installed as /usr/bin/docker in the image, it is also the one docker
// command the image needs: `docker compose ARGS...` runs the standalone
// Compose v2 binary (/usr/bin/docker-compose) with ARGS, so that deploys
// recorded with Compose v2 replay inside the container.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// composeBin is the standalone Compose v2 binary of the image.
const composeBin = "/usr/bin/docker-compose"

func main() {
	if filepath.Base(os.Args[0]) == "docker" {
		if len(os.Args) < 2 || os.Args[1] != "compose" {
			fmt.Fprintln(os.Stderr, "docker (vllmctl image): only `docker compose ...` is available here")
			os.Exit(125)
		}
		err := syscall.Exec(composeBin, append([]string{"docker-compose"}, os.Args[2:]...), os.Environ())
		fmt.Fprintln(os.Stderr, "docker compose:", err)
		os.Exit(126)
	}
	timeout := flag.Duration("timeout", 3*time.Second, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: vllmctl-probe [--timeout 3s] URL   (exit 0 on a 2xx answer)")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	c := &http.Client{Timeout: *timeout}
	resp, err := c.Get(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "vllmctl-probe:", err)
		os.Exit(1)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(os.Stderr, "vllmctl-probe: %s: %s\n", flag.Arg(0), resp.Status)
		os.Exit(1)
	}
}

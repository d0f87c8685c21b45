// Command etcd is the upstream etcd server, built here only for vllmctl's
// acceptance tests (make kube-testbin).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

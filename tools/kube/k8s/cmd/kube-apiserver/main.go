// Command kube-apiserver is the upstream kube-apiserver of k8s.io/kubernetes, built here
// only for vllmctl's acceptance tests (make kube-testbin).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}

// Command kube-controller-manager is the upstream kube-controller-manager of k8s.io/kubernetes, built here
// only for vllmctl's acceptance tests (make kube-testbin).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}

// Command pause is the sandbox ("infra") container of the e2e node's pods: it
// holds the pod's namespaces open, reaps orphaned children when it is PID 1,
// and exits 0 on SIGINT or SIGTERM. There is no registry to pull
// registry.k8s.io/pause from, so hack/cluster-binaries.sh builds this one.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

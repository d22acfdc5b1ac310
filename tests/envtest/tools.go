//go:build tools

// Package envtest pins the Kubernetes programs the real-server tiers build: for the
// envtest tier kube-apiserver from k8s.io/kubernetes and etcd (./etcd) from etcd's
// server module; for the cluster tier (tests/cluster) also kube-controller-manager and
// kube-scheduler.
package envtest

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)

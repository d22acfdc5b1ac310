//go:build tools

// Package envtest pins the programs the envtest tier builds: kube-apiserver from
// k8s.io/kubernetes, and etcd (./etcd) from etcd's server module.
package envtest

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)

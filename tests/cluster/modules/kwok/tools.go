//go:build tools

// Package kwok pins kwok, the fake kubelet of the cluster tier: it runs the fake node
// and turns scheduled pods Running and Ready.
package kwok

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)

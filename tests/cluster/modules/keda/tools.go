//go:build tools

// Package keda pins the KEDA operator: it owns the HPA of each ScaledObject and sets
// the Deployment's replicas to minReplicaCount when no trigger is active.
package keda

import (
	_ "github.com/kedacore/keda/v2/cmd/operator"
)

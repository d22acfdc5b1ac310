//go:build tools

// Package kustomizecontroller pins Flux's kustomize-controller: it builds the
// artifact with kustomize and applies it (server-side), recording the revision.
package kustomizecontroller

import (
	_ "github.com/fluxcd/kustomize-controller"
)

//go:build tools

// Package sourcecontroller pins Flux's source-controller: it fetches the GitOps
// repository (from the GitHub emulator's smart HTTP) and serves it as an artifact.
package sourcecontroller

import (
	_ "github.com/fluxcd/source-controller"
)

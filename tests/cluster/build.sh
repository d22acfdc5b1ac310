#!/usr/bin/env bash
# Builds the cluster tier's programs from their pinned Go modules into $1 (made by
# `make cluster-assets`): kube-controller-manager and kube-scheduler (tests/envtest's
# module), kwok, Flux source-controller and kustomize-controller, the KEDA operator and
# the KEDA cron oracle (tests/cluster/modules/), with the CRDs (every one the controllers
# watch) and kwok stages that come with the same module versions. Each file is written under a temporary name and moved
# into place, so an interrupted build leaves nothing that looks finished; what is
# already there is reused.
set -euo pipefail
out="$1"
here="$(cd "$(dirname "$0")" && pwd)"
modules="$here/modules"
mkdir -p "$out"

build() {  # build NAME DIR GO-COMMAND PACKAGE (GO-COMMAND: build, or test -c)
  local name="$1" dir="$2" package="${*: -1}"
  set -- "${@:3:$#-3}"
  if [ -x "$out/$name" ]; then
    return
  fi
  echo "cluster: building $name (minutes when Go's caches are cold)"
  local started=$SECONDS
  (cd "$dir" && go "$@" -trimpath -o "$out/.$name.part" "$package")
  mv "$out/.$name.part" "$out/$name"
  echo "cluster: $name built in $((SECONDS - started)) s"
}

build kube-controller-manager "$here/../envtest" build k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler "$here/../envtest" build k8s.io/kubernetes/cmd/kube-scheduler
build kwok "$modules/kwok" build sigs.k8s.io/kwok/cmd/kwok
build source-controller "$modules/source-controller" build github.com/fluxcd/source-controller
build kustomize-controller "$modules/kustomize-controller" build github.com/fluxcd/kustomize-controller
CGO_ENABLED=0 build keda-operator "$modules/keda" build github.com/kedacore/keda/v2/cmd/operator
CGO_ENABLED=0 build cron-oracle "$modules/keda" test -c ./cronoracle

module_dir() {  # module_dir DIR MODULE: where Go keeps the module's source
  (cd "$1" && go list -m -f '{{.Dir}}' "$2")
}

if [ ! -d "$out/manifests" ]; then
  staged="$out/.manifests.part"
  rm -rf "$staged"
  mkdir -p "$staged/crds" "$staged/kwok-stages"
  cp "$(module_dir "$modules/source-controller" github.com/fluxcd/source-controller)"/config/crd/bases/*.yaml "$staged/crds/"
  cp "$(module_dir "$modules/kustomize-controller" github.com/fluxcd/kustomize-controller)"/config/crd/bases/*.yaml "$staged/crds/"
  keda="$(module_dir "$modules/keda" github.com/kedacore/keda/v2)"
  cp "$keda"/config/crd/bases/*.yaml "$staged/crds/"
  kwok="$(module_dir "$modules/kwok" sigs.k8s.io/kwok)/kustomize/stage"
  cp "$kwok"/node/fast/node-initialize.yaml "$kwok"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml "$staged/kwok-stages/"
  for stage in "$kwok"/pod/fast/*.yaml; do
    case "$(basename "$stage")" in kustomization.yaml) ;; *) cp "$stage" "$staged/kwok-stages/" ;; esac
  done
  chmod -R u+w "$staged"
  mv "$staged" "$out/manifests"
fi
# Builds of other pins are a gigabyte each: keep only this one.
for other in "$(dirname "$out")"/*/; do
  if [ "$(cd "$other" && pwd)" != "$(cd "$out" && pwd)" ]; then
    echo "cluster: removing the build of other pins, $other"
    rm -rf "$other"
  fi
done
echo "cluster: programs and manifests in $out"

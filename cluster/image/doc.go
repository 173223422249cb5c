// Package image builds and stores container images in the OCI image layout,
// the format `docker save`, `skopeo copy … oci-archive:` and `seven image
// import` exchange.
//
// Build writes a one-layer image as an OCI layout tarball. Import also reads
// Docker's legacy `docker save` archive (manifest.json, before Docker 25). Store is a node's
// local image store: Import adds the images of a tarball, Pull fetches one
// from a registry (OCI distribution / Docker registry v2, an index resolved
// to linux/<GOARCH>, credentials from docker configs found by a Keyring as
// the Kubernetes kubelet's), Get resolves a
// reference to an Image whose RootFS is a directory with the layers unpacked,
// List enumerates. EnsureFixtures puts the fixture images on a node;
// WriteFixtureArchive writes one as a tarball that docker load reads too.
// References under LocalDomain (seven.local) are never pulled.
//
// A Store is a directory:
//
//	blobs/sha256/<hex>   content-addressed blobs: layers, configs, manifests
//	refs/<escaped ref>   one small JSON record per reference, naming its manifest
//	rootfs/<chain id>/   unpacked layers, one directory per distinct layer stack
//	tmp/                 staging; everything becomes visible by an atomic rename
//
// Every write lands in tmp and is renamed into place, so several processes may
// share a store without locks: a reader sees a blob, a record or a rootfs
// whole or not at all. Images with the same layers (the fixture images differ
// only in their config) share one rootfs. A rootfs is shared by every
// container of the image: callers must treat it as read-only (copy it, or
// overlay it) — nothing enforces that.
//
// Unpacking runs without privileges: file ownership is ignored, device nodes
// and FIFOs are skipped, directories stay owner-writable so the store can
// delete them, and every path is resolved through os.Root, so no layer entry,
// symlink or hard link can reach outside the rootfs (an entry whose parent is
// an absolute symlink is rejected rather than resolved inside the rootfs).
//
// Files: ref.go (reference normalisation), build.go (Build), store.go (Open,
// Get, List, records and blobs), import.go (Import), docker_archive.go (the
// legacy docker save format), unpack.go (layers onto a rootfs), fixtures.go
// (EnsureFixtures, WriteFixtureArchive), pull.go (Pull, registry errors,
// plain HTTP only for loopback and insecure registries), keyring.go (docker
// configs, Keyring). Package registrytest runs a registry in a test.
package image

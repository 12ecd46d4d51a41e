// Package sysctld models how a Linux host applies sysctl.d(5) configuration
// at boot: it parses sysctl.d files, renders the provider's managed drop-in,
// and resolves which file and line decide a key's boot-time value, under
// either systemd-sysctl or procps "sysctl --system" rules.
//
// It works on an fs.FS rooted at the host's "/" (paths without the leading
// slash). Symlinks are followed when the FS implements fs.ReadLinkFS
// (MemFS, fstest.MapFS and os.DirFS all do); MemFS is the in-memory tree the
// provider fills from what it reads over SSH.
//
// The package uses only the standard library and knows nothing about
// Terraform or SSH.
package sysctld

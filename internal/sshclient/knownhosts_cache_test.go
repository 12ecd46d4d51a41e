package sshclient

import (
	"os"
	"testing"
)

// One parse per version of the file: unchanged files come from the cache,
// an edited one (even with the same size) is read again.
func TestKnownHostsCache(t *testing.T) {
	a, b := newEd25519Signer(t).PublicKey(), newEd25519Signer(t).PublicKey()
	path := writeKnownHosts(t, khLine("h1.example:22", a))
	var c knownHostsCache

	db1, err := c.load(path)
	if err != nil {
		t.Fatal(err)
	}
	db2, err := c.load(path)
	if err != nil {
		t.Fatal(err)
	}
	if db1 != db2 {
		t.Error("an unchanged file was parsed twice")
	}
	if keys := db1.HostKeys("h1.example:22"); len(keys) != 1 {
		t.Fatalf("h1: %d keys", len(keys))
	}

	// Same length, other key, rewritten in place with the old timestamps
	// put back (as cp -p or touch -r would): the content decides.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(khLine("h1.example:22", b)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	db3, err := c.load(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := db3.HostKeys("h1.example:22")
	if db3 == db1 || len(keys) != 1 || string(keys[0].Marshal()) != string(b.Marshal()) {
		t.Errorf("the edited file was not read again (same db: %v)", db3 == db1)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.load(path); !os.IsNotExist(err) {
		t.Errorf("removed file: err = %v, want not-exist", err)
	}
}

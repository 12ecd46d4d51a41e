package provider

import "testing"

func TestParseImportTarget(t *testing.T) {
	for _, c := range []struct {
		id      string
		host    string
		port    int
		file    string
		wantErr bool
	}{
		{"web1", "web1", 0, "", false},
		{"web1:2222", "web1", 2222, "", false},
		{"[2001:db8::1]:22,/etc/sysctl.d/60-custom.conf", "2001:db8::1", 22, "/etc/sysctl.d/60-custom.conf", false},
		{"web1,/usr/lib/sysctl.d/10-x.conf", "web1", 0, "/usr/lib/sysctl.d/10-x.conf", false},
		{"web1,", "", 0, "", true},
		{"web1,/tmp/x.conf", "", 0, "", true},
		{"web1,relative.conf", "", 0, "", true},
		{"web 1,/etc/sysctl.d/a.conf", "", 0, "", true},
	} {
		host, port, file, err := parseImportTarget(c.id)
		if (err != nil) != c.wantErr || (err == nil && (host != c.host || port != c.port || file != c.file)) {
			t.Errorf("%q: got %q %d %q %v", c.id, host, port, file, err)
		}
	}
}

func TestLooksLikeKeyPath(t *testing.T) {
	for s, want := range map[string]bool{
		"~/.ssh/id_ed25519": true, "/root/.ssh/id_rsa": true, "./id": true, "../keys/id": true,
		"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n": false,
		"": false, "AAAA": false, "/path\nwith newline": false,
	} {
		if got := looksLikeKeyPath(s); got != want {
			t.Errorf("looksLikeKeyPath(%q) = %v, want %v", s, got, want)
		}
	}
}

package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/sshclient"
)

// TestUnitHostKeyPinPolicy: a resource's connection carries the recorded
// key; a data source's never accepts a new key, and says so.
func TestUnitHostKeyPinPolicy(t *testing.T) {
	ctx := context.Background()
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

	cfg := sshclient.Config{AcceptNewHostKey: true}
	if d := applyHostKeyPin(withHostKeyPin(ctx, types.StringValue(key)), &cfg, "h"); d.HasError() || !cfg.AcceptNewHostKey || cfg.AcceptedHostKey != key {
		t.Errorf("resource: %+v %v", cfg, d)
	}
	cfg = sshclient.Config{AcceptNewHostKey: true}
	if d := applyHostKeyPin(withHostKeyPin(ctx, types.StringNull()), &cfg, "h"); d.HasError() || !cfg.AcceptNewHostKey || cfg.AcceptedHostKey != "" {
		t.Errorf("resource, first contact: %+v %v", cfg, d)
	}
	cfg = sshclient.Config{AcceptNewHostKey: true}
	d := applyHostKeyPin(ctx, &cfg, "h")
	if cfg.AcceptNewHostKey || d.WarningsCount() != 1 {
		t.Errorf("data source: accept-new %v, %d warnings", cfg.AcceptNewHostKey, d.WarningsCount())
	}
	// A host_key pin decides: nothing is recorded.
	cfg = sshclient.Config{AcceptNewHostKey: true, HostKey: key}
	if applyHostKeyPin(withHostKeyPin(ctx, types.StringValue(key)), &cfg, "h"); cfg.AcceptedHostKey != "" || pinsKey(cfg) {
		t.Errorf("host_key set: %+v", cfg)
	}
}

package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-yama/terraform-provider-yama/internal/ptrace"
	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

var (
	_ resource.Resource                   = (*ptraceScopeResource)(nil)
	_ resource.ResourceWithConfigure      = (*ptraceScopeResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*ptraceScopeResource)(nil)
	_ resource.ResourceWithImportState    = (*ptraceScopeResource)(nil)
	_ resource.ResourceWithValidateConfig = (*ptraceScopeResource)(nil)
)

// NewPtraceScopeResource is the yama_ptrace_scope resource constructor.
func NewPtraceScopeResource() resource.Resource { return &ptraceScopeResource{} }

type ptraceScopeResource struct {
	data *providerData
}

// snapshotKey is the private-state key holding what the host had before
// this resource changed it (yama.Snapshot as JSON), for on_destroy.
const snapshotKey = "snapshot"

// managedKey is the private-state key recording what the resource has
// ever managed on the host (managedParts as JSON). on_destroy undoes all
// of it, also what an earlier configuration wrote: a drop-in written
// before persist was turned off, a live value set before apply_runtime
// was. States from before this key use the configuration alone.
const managedKey = "managed"

// managedParts says which parts of the host a resource has managed.
type managedParts struct {
	File bool `json:"file,omitempty"` // the drop-in (persist)
	Live bool `json:"live,omitempty"` // the live value (apply_runtime)
}

// privateGetter is what requests with private state offer.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

// managedSoFar reads the record, and adds what m manages.
func managedSoFar(ctx context.Context, priv privateGetter, m ptraceScopeResourceModel) managedParts {
	var p managedParts
	if priv != nil {
		if raw, _ := priv.GetKey(ctx, managedKey); raw != nil {
			_ = json.Unmarshal(raw, &p) // unreadable: the configuration alone decides
		}
	}
	p.File = p.File || m.Persist.ValueBool()
	p.Live = p.Live || m.ApplyRuntime.ValueBool()
	return p
}

func saveManaged(ctx context.Context, priv privateSetter, p managedParts, diags *diag.Diagnostics) {
	raw, _ := json.Marshal(p)
	diags.Append(priv.SetKey(ctx, managedKey, raw)...)
}

func (r *ptraceScopeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_ptrace_scope"
	resp.ResourceBehavior.MutableIdentity = true // the port (in the id) may change in place (identity.go)
}

func (r *ptraceScopeResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		// Version 0 is the baseline for state upgraders (see
		// hashicorp/terraform-provider-random's resource_password.go): bump
		// it, and add an upgrader, when a change needs old states rewritten.
		Version: 0,
		MarkdownDescription: "Manages `kernel.yama.ptrace_scope` on one host over SSH: the live value " +
			"(`" + yama.ProcPath + "`) and a sysctl.d drop-in that sets it at boot. One resource per host; use `for_each` for fleets.\n\n" +
			"Two resources for the same host are not detected as a conflict: each sees only its own configuration. They fight over the one live value " +
			"(even with different `file`s): each apply sets its own value, so after every apply the other resource's plan shows a change; the resource whose " +
			"drop-in sorts first is also warned that the other drop-in wins at boot, and when the other resource writes between this one's plan and apply, " +
			"the apply fails with \"Host changed while applying\" and records what the host holds.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`host:port`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"host": schema.StringAttribute{Required: true,
				MarkdownDescription: "Host name or IP address to connect to. Changing it replaces the resource.",
				Validators:          []validator.String{hostValidator},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"scope": schema.Int64Attribute{Required: true,
				MarkdownDescription: "The ptrace scope to set: `0` (classic: any process may attach to another of the same user), " +
					"`1` (restricted: only descendants or a declared tracer), `2` (admin-only: only with CAP_SYS_PTRACE) or " +
					"`3` (no-attach: nobody, and the kernel refuses any other value until reboot).",
				Validators: []validator.Int64{scopeValidator{}}},
			"persist": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Manage the drop-in `file` so the value survives reboots. Default: `true`."},
			"apply_runtime": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Set the live value now. Default: `true`. Set `false` to only persist a value (it takes effect at the next boot), e.g. to lower a value locked at 3."},
			"file": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(yama.DefaultFile),
				MarkdownDescription: "The drop-in to manage: an absolute path to a `*.conf` file directly inside `/etc/sysctl.d`, `/run/sysctl.d`, " +
					"`/usr/local/lib/sysctl.d`, `/usr/lib/sysctl.d` or `/lib/sysctl.d` (letters, digits, `.`, `_`, `-`, `+`, `@`; at most 255 bytes). " +
					"It must be a regular file with a single link, or not exist: a symbolic link, a hard link, a directory or a device there is a plan-time error, and nothing is read through it. " +
					"Default: `" + yama.DefaultFile + "`, as Ubuntu ships it. Changing it replaces the resource.",
				Validators:    []validator.String{fileValidator},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"comment": schema.StringAttribute{Optional: true,
				MarkdownDescription: "One line of text written as a `# ` comment above the setting in the drop-in.",
				Validators:          []validator.String{commentValidator}},
			"on_destroy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(onDestroyRestore),
				MarkdownDescription: "What destroying the resource does: `restore` (default) puts back the live value and the drop-in (content, mode and owner) as they were before " +
					"the provider first changed the host (removing the drop-in if there was none); `keep` leaves the host as it is; `remove` deletes the drop-in only. " +
					"What the host held before is recorded on the host itself before the first change (`" + yama.RecordDir + "`, root only), so `restore` works even after an interrupted apply; every destroy removes that record.",
				Validators: []validator.String{stringvalidator.OneOf(onDestroyRestore, onDestroyKeep, onDestroyRemove)}},
			"runtime_scope": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The live value read from `" + yama.ProcPath + "`."},
			"host_key_pinned": schema.StringAttribute{Computed: true, MarkdownDescription: hostKeyPinnedDescription}, // tofu.go
			"mode": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Name of the live value: `classic`, `restricted`, `admin-only` or `no-attach`."},
			"file_content": schema.StringAttribute{Computed: true,
				MarkdownDescription: "What the drop-in holds on the host (null when it does not exist)."},
			"reboot_required": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "True when the value the host will boot with (`boot_scope`) differs from the live one, e.g. with `apply_runtime = false` or a live value locked at 3: only a reboot brings them together. Always false when `persist = false`."},
			"shadowing": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(shadowingWarn),
				MarkdownDescription: "What to do when another sysctl file would defeat the drop-in at boot (a later-sorting file, `/etc/sysctl.conf`, an earlier 3 that locks the key, or a same-named file that masks it): " +
					"`warn` (default) adds a plan warning naming each file and line; `error` fails the plan; `override` adds a drop-in in `/etc/sysctl.d` whose name sorts after every shadowing file, so the value wins (shown in `override_files`; " +
					"removed again on destroy). `override` refuses, with the reason, what no drop-in can beat.",
				Validators: []validator.String{stringvalidator.OneOf(shadowingWarn, shadowingError, shadowingOverride)}},
			"boot_mode": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(bootModeAuto),
				MarkdownDescription: "Which loader applies sysctl.d at boot, for `boot_scope`: `systemd` (systemd-sysctl: files merged by name across directories, last assignment wins, `/etc/sysctl.conf` only through `99-sysctl.conf`), " +
					"`procps` (`sysctl --system`: every assignment written in order, `/etc/sysctl.conf` last), or `auto` (default: `systemd` when systemd is the host's init, else `procps`).",
				Validators: []validator.String{stringvalidator.OneOf(bootModeAuto, bootModeSystemd, bootModeProcps)}},
			"boot_scope": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "The value the host will boot with, after this apply, computed from every sysctl.d file the way `boot_mode` applies them; null when no file sets it (the kernel's built-in default then applies)."},
			"boot_source": schema.StringAttribute{Computed: true,
				MarkdownDescription: "`path:line` of the assignment that sets `boot_scope`."},
			"shadowed_by": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Assignments (`path:line`) or files that keep the drop-in's value from winning at boot; empty when it wins."},
			"override_files": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Drop-ins this resource wrote to win over shadowing files (`shadowing = \"override\"`): path to content."},
		},
		Blocks: map[string]schema.Block{"ssh": resourceSSHBlock()},
	}
}

func (r *ptraceScopeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataOf(req.ProviderData, &resp.Diagnostics)
}

func (r *ptraceScopeResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m ptraceScopeResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !m.Persist.IsNull() && !m.Persist.IsUnknown() && !m.ApplyRuntime.IsNull() && !m.ApplyRuntime.IsUnknown() &&
		!m.Persist.ValueBool() && !m.ApplyRuntime.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("persist"), "Nothing to manage",
			"persist and apply_runtime are both false, so this resource would change nothing. Set at least one of them to true.")
	}
}

func (r *ptraceScopeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan ptraceScopeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	configSSH(ctx, req.Config, &plan, &resp.Diagnostics) // write-only secrets
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = withHostKeyPin(ctx, plan.HostKeyPinned) // the key the plan saw (tofu.go)
	t, diags := r.data.connect(ctx, plan.Host.ValueString(), plan.SSH)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	st, err := t.read(plan.File.ValueString())
	if err != nil {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
		return
	}
	if !st.Available {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), yamaAbsent(t.host.Name())))
		return
	}
	plan.ID = types.StringValue(t.host.Name())
	// The apply records the host's original on the host itself before its
	// first change (or finds the record an earlier, interrupted run left):
	// that is what on_destroy = restore puts back.
	res := r.converge(t, plan, nil)
	res.model.HostKeyPinned = appliedHostKeyPin(plan, t)
	resp.Diagnostics.Append(res.diags...)
	if res.after == nil {
		return // the host could not report what it holds: record nothing (the host keeps its record)
	}
	snapshot, err := snapshotAfter(res.after, st)
	if err != nil {
		resp.Diagnostics.Append(asWarning(hostDiagnostic(t.host.Name(), err)))
	}
	snap, _ := json.Marshal(snapshot)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, snapshotKey, snap)...)
	if res.failedMidway() {
		if res.after.ChangedKnown && len(res.after.Changed) == 0 {
			return // nothing was changed: nothing to undo, nothing created
		}
		if r.rollback(t, res.model, snapshot, res.after, &resp.Diagnostics) {
			return // the host is as it was: the create leaves nothing behind
		}
	}
	saveManaged(ctx, resp.Private, managedSoFar(ctx, nil, plan), &resp.Diagnostics)
	markSecrets(ctx, resp.Private, plan, &resp.Diagnostics)
	saveObserved(ctx, &res.model, res.view, &resp.State, resp.Private, &resp.Diagnostics)
	setIdentity(ctx, resp.Identity, res.model, &resp.Diagnostics) // identity.go
}

// snapshotAfter is the "before" of a create: the host's record of its
// original when the apply reports one (made right before its first change,
// or left by an earlier run that was interrupted), else the host as read
// before the apply (nothing was changed, so nothing was recorded).
func snapshotAfter(after, before *yama.State) (yama.Snapshot, error) {
	rec, ok, err := after.Recorded()
	if ok {
		return rec, nil
	}
	snap := yama.TakeSnapshot(before)
	// A report the login user read back after a lost answer cannot show
	// the root-only record: the record, seen later, wins.
	snap.Provisional = after.Original.Kind == yama.KindOther
	return snap, err
}

// loadSnapshot reads the private-state snapshot; nil when there is none.
func loadSnapshot(ctx context.Context, priv privateGetter) *yama.Snapshot {
	raw, d := priv.GetKey(ctx, snapshotKey)
	if d.HasError() || raw == nil {
		return nil
	}
	var s yama.Snapshot
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return &s
}

// asWarning turns an error diagnostic into a warning with the same text:
// for a problem that must be told but must not fail an operation that has
// already changed the host.
func asWarning(d diag.Diagnostic) diag.Diagnostic {
	return diag.NewWarningDiagnostic(d.Summary(), d.Detail())
}

// settled reports whether a snapshot needs no better source: the host's
// record wins over a missing or provisional (import-time) one.
func settled(s *yama.Snapshot) bool { return s != nil && !s.Provisional }

func (r *ptraceScopeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m ptraceScopeResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	setIdentity(ctx, resp.Identity, m, &resp.Diagnostics) // identity.go
	if resp.Diagnostics.HasError() || refreshDeferred(ctx, req.Private) {
		return // write-only credentials: the plan reads the host (writeonly.go)
	}
	ctx = withHostKeyPin(ctx, m.HostKeyPinned) // tofu.go; none yet at import: pin what is seen
	t, diags := r.data.connect(ctx, m.Host.ValueString(), sshWithPort(m.SSH, m.ID.ValueString()))
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	imported := m.Scope.IsNull()
	if imported && m.File.IsNull() { // an import ID may name the file
		m.File = types.StringValue(yama.DefaultFile)
	}
	st, err := t.read(m.File.ValueString())
	if err != nil && !imported && r.data.tolerate(t.ctx, t.host.Name(), err, "The resource keeps its prior state", &resp.Diagnostics) {
		return // on_unreachable = "warn" (unreachable.go)
	}
	if err != nil {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
		return
	}
	if !st.Available {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), yamaAbsent(t.host.Name())))
		return
	}
	if imported {
		m.adoptFromHost(st)
	}
	// A resource without a snapshot (imported) takes the host's record of
	// its original when it can see one (only root can); else what the host
	// holds now, provisionally: the record made at the first apply, or
	// seen at destroy, wins over it.
	if !settled(loadSnapshot(ctx, req.Private)) {
		snap, ok, err := st.Recorded()
		if err != nil {
			resp.Diagnostics.Append(asWarning(hostDiagnostic(t.host.Name(), err)))
		}
		if !ok && loadSnapshot(ctx, req.Private) == nil {
			snap, ok = yama.TakeSnapshot(st), true
			snap.Provisional = true
		}
		if ok {
			raw, _ := json.Marshal(snap)
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, snapshotKey, raw)...)
		}
	}
	m.ID = types.StringValue(t.host.Name())
	m.HostKeyPinned = seenHostKey(t)
	m.observe(st)
	view, diags := observeBoot(&m, st)
	resp.Diagnostics.Append(diags...)
	saveObserved(ctx, &m, view, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *ptraceScopeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, prior ptraceScopeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	configSSH(ctx, req.Config, &plan, &resp.Diagnostics) // write-only secrets
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = withHostKeyPin(ctx, prior.HostKeyPinned) // tofu.go
	t, diags := r.data.connect(ctx, plan.Host.ValueString(), plan.SSH)
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	// No read first: converge sends the desired state and the host skips
	// what it already holds, so a host changed since the plan (a saved
	// plan, -refresh=false) still ends up right, in one command.
	plan.ID = types.StringValue(t.host.Name())
	// Unlike a create, an update is not rolled back: the state records
	// what the host holds, even after a failed step.
	res := r.converge(t, plan, &prior)
	res.model.HostKeyPinned = appliedHostKeyPin(plan, t)
	resp.Diagnostics.Append(res.diags...)
	if res.after != nil {
		// The first change of an imported resource records the host's
		// original (or finds an older record): it replaces the provisional
		// snapshot taken at import.
		if !settled(loadSnapshot(ctx, req.Private)) {
			if snap, ok, _ := res.after.Recorded(); ok {
				raw, _ := json.Marshal(snap)
				resp.Diagnostics.Append(resp.Private.SetKey(ctx, snapshotKey, raw)...)
			}
		}
		saveManaged(ctx, resp.Private, managedSoFar(ctx, req.Private, plan), &resp.Diagnostics)
		markSecrets(ctx, resp.Private, plan, &resp.Diagnostics)
		saveObserved(ctx, &res.model, res.view, &resp.State, resp.Private, &resp.Diagnostics)
		setIdentity(ctx, resp.Identity, res.model, &resp.Diagnostics) // identity.go
	}
}

func (r *ptraceScopeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m ptraceScopeResourceModel
	defer func() { destroyCredentialsHint(ctx, req.Private, m.Host.ValueString(), &resp.Diagnostics) }() // writeonly.go
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = withHostKeyPin(ctx, m.HostKeyPinned) // tofu.go
	t, diags := r.data.connect(ctx, m.Host.ValueString(), sshWithPort(m.SSH, m.ID.ValueString()))
	if m.OnDestroy.ValueString() == onDestroyKeep {
		// The host stays as it is; only the record of its original goes,
		// so that a later create does not take it for the host's "before".
		// A host that is gone must not block the destroy: warn.
		if !diags.HasError() {
			resp.Diagnostics.Append(diags...) // warnings
			_, err := t.apply(yama.Change{File: m.File.ValueString(), Original: yama.ForgetOriginal})
			if err == nil {
				return
			}
			diags = diag.Diagnostics{hostDiagnostic(t.host.Name(), err)}
		}
		resp.Diagnostics.Append(recordLeftWarning(m.Host.ValueString(), m.File.ValueString(), diags))
		return
	}
	if resp.Diagnostics.Append(diags...); diags.HasError() {
		return
	}
	file := m.File.ValueString()
	overrides := sortedPaths(m.overrideFiles())
	managed := managedSoFar(ctx, req.Private, m)
	change := yama.Change{File: file, Original: yama.ForgetOriginal}
	switch m.OnDestroy.ValueString() {
	case onDestroyRemove:
		if managed.File {
			change.Files = []yama.FileOp{{Path: file, Remove: true}}
		}
		for _, p := range overrides {
			change.Files = append(change.Files, yama.FileOp{Path: p, Remove: true})
		}
	case onDestroyRestore:
		snap := loadSnapshot(ctx, req.Private)
		read := t.read
		if !settled(snap) && t.cfg.Sudo {
			// The host's record, if there is one, is the better "before",
			// and only root can see it: read as root at once.
			read = func(file string) (*yama.State, error) { return yama.ReadPrivileged(t.ctx, t.host, file) }
		}
		st, err := read(file)
		if err != nil {
			resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
			return
		}
		if !settled(snap) {
			rec, ok, err := st.Recorded()
			if err != nil {
				resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
				return
			}
			if ok {
				snap = &rec
			}
		}
		if snap == nil {
			resp.Diagnostics.AddWarning("Nothing to restore on "+t.host.Name(),
				"The resource has no record of what the host held before it was created, so the host is left as it is.")
			break
		}
		var locked bool
		change, locked = snap.Restore(st, file, managed.File, managed.Live, overrides)
		change.Original = yama.ForgetOriginal
		if locked {
			resp.Diagnostics.Append(restoreLockedWarning(t.host.Name(), ptrace.Scope(snap.Runtime)))
		}
	}
	if _, err := t.apply(change); err != nil {
		resp.Diagnostics.Append(hostDiagnostic(t.host.Name(), err))
	}
}

func (r *ptraceScopeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importID := req.ID
	if id, ok := importByIdentity(ctx, req, &resp.Diagnostics); ok { // identity.go
		importID = id
	}
	host, port, file, err := parseImportTarget(importID) // import_id.go
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID",
			fmt.Sprintf("Expected %s, got %q: %s.", importFormat, importID, err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("host"), host)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), hostID(host, port))...)
	if file != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("file"), file)...)
	}
}

// convergeResult is what converge did on the host.
type convergeResult struct {
	model ptraceScopeResourceModel // the configuration with what the host holds afterwards
	view  []byte                   // the boot view for private state; nil when none
	after *yama.State              // the host's report; nil when it could not report
	err   error                    // the step that failed, if any
	diags diag.Diagnostics
}

// failedMidway: a step failed after others may have run, and the host
// reported what it holds. Not a change whose writes succeeded but read back
// changed (yama.ErrVerify): someone else is writing the host, and undoing
// would clobber their value too.
func (c convergeResult) failedMidway() bool {
	return c.err != nil && c.after != nil && !errors.Is(c.err, yama.ErrVerify)
}

// converge sends the whole desired state in one command; the host writes
// only what differs (an identical drop-in is not rewritten, an equal live
// value not set) and refuses a locked or missing Yama before writing
// anything. The result holds what the host reports afterwards, even after
// a failed step, so state never claims what the host does not have.
func (r *ptraceScopeResource) converge(t *target, plan ptraceScopeResourceModel, prior *ptraceScopeResourceModel) convergeResult {
	name := t.host.Name()
	if plan.OverrideFiles.IsUnknown() && prior != nil {
		// The plan could not tell (boot view unknown): keep what there is.
		plan.OverrideFiles = prior.OverrideFiles
	}
	want := plan.desired()
	change := changeFor(want, plan.overrideFiles(), prior)
	change.Original = yama.RecordOriginal
	after, err := t.apply(change)
	res := convergeResult{after: after, err: err}
	if err != nil {
		if errors.Is(err, yama.ErrLocked) && want.Runtime != nil {
			res.diags.Append(lockedPlanDiagnostic(name, *want.Runtime))
		} else {
			res.diags.Append(hostDiagnostic(name, err))
		}
		if after == nil {
			return res
		}
	}
	res.model = plan
	res.model.observe(after)
	var d diag.Diagnostics
	res.view, d = observeBoot(&res.model, after)
	res.diags.Append(d...)
	if err == nil {
		// The steps succeeded and were verified, but something else may
		// have changed the host between plan and apply (another resource
		// for the same host writing its own drop-in, a config manager):
		// say so, rather than let Terraform call it a provider bug, and
		// record what the host holds.
		if changed := plannedButDifferent(&plan, &res.model); len(changed) > 0 {
			res.diags.Append(changedDuringApplyDiagnostic(name, changed))
		}
	}
	return res
}

// changeFor is the one command that brings the host to want: the drop-in
// and live value, the override files this plan wants, and the removal of
// those the resource wrote before (prior) but no longer needs.
func changeFor(want yama.Desired, overrides map[string]string, prior *ptraceScopeResourceModel) yama.Change {
	change := yama.Change{File: want.File, Runtime: want.Runtime}
	if want.Content != nil {
		change.Files = append(change.Files, yama.FileOp{Path: want.File, Content: want.Content})
	}
	for _, p := range sortedPaths(overrides) {
		change.Files = append(change.Files, yama.FileOp{Path: p, Content: []byte(overrides[p])})
	}
	if prior != nil {
		for _, p := range sortedPaths(prior.overrideFiles()) {
			if _, keep := overrides[p]; !keep {
				change.Files = append(change.Files, yama.FileOp{Path: p, Remove: true})
			}
		}
	}
	return change
}

// plannedButDifferent lists the computed attributes whose planned, known
// value differs from what the host reported after the apply.
func plannedButDifferent(planned, got *ptraceScopeResourceModel) []string {
	var out []string
	for _, a := range []struct {
		name      string
		want, got attr.Value
	}{
		{"runtime_scope", planned.RuntimeScope, got.RuntimeScope},
		{"mode", planned.Mode, got.Mode},
		{"file_content", planned.FileContent, got.FileContent},
		{"reboot_required", planned.RebootRequired, got.RebootRequired},
		{"boot_scope", planned.BootScope, got.BootScope},
		{"boot_source", planned.BootSource, got.BootSource},
		{"shadowed_by", planned.ShadowedBy, got.ShadowedBy},
		{"override_files", planned.OverrideFiles, got.OverrideFiles},
	} {
		if !a.want.IsUnknown() && !a.want.Equal(a.got) {
			out = append(out, fmt.Sprintf("%s (planned %s, now %s)", a.name, a.want, a.got))
		}
	}
	return out
}

func sortedPaths(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// rollback puts a host back as it was before a create that failed half-way,
// and reports whether it did. Terraform would otherwise record the resource
// as tainted and replace it without handing its private state (the
// snapshot) to Delete, so the original drop-in and value would be lost.
// When the rollback fails the partial state stays, and the user is told
// what the host held before.
func (r *ptraceScopeResource) rollback(t *target, plan ptraceScopeResourceModel, snap yama.Snapshot, after *yama.State, diags *diag.Diagnostics) bool {
	name := t.host.Name()
	change, _ := snap.Restore(after, plan.File.ValueString(), plan.Persist.ValueBool(), plan.ApplyRuntime.ValueBool(), sortedPaths(plan.overrideFiles()))
	if change.Empty() && !madeRecord(after) {
		// The host is as it was (e.g. sudo refused before the script ran,
		// so its answer is missing): nothing to undo, no warning.
		return true
	}
	// Nothing is created, so the record goes too; if putting the host back
	// fails, it stays, and the next create takes it as the original.
	change.Original = yama.ForgetOriginal
	undone, err := t.apply(change)
	if err != nil {
		diags.Append(rollbackFailedWarning(name, after, snap, err))
		return false
	}
	diags.Append(rolledBackWarning(name, after, undone.Changed))
	return true
}

// madeRecord: the apply reports that it recorded the host's original. (When
// its answer was lost, a record it may have made is left: it holds the
// host's original, which is what the next create should find.)
func madeRecord(after *yama.State) bool {
	for _, s := range after.Changed {
		if s.Name == "record" {
			return true
		}
	}
	return false
}

// sshWithPort returns the connection overrides for an existing resource:
// its ssh block, and for an imported one (no ssh block yet) the port that
// was given in the import ID.
func sshWithPort(m *connectionModel, id string) *connectionModel {
	if m != nil && !m.Port.IsNull() {
		return m
	}
	_, port, err := parseImportID(id)
	if err != nil || port == 0 {
		return m
	}
	out := connectionModel{}
	if m != nil {
		out = *m
	}
	out.Port = types.Int64Value(int64(port))
	return &out
}

// Package sshclient runs small, constant shell scripts on remote hosts over
// SSH for the provider.
//
// Design rules, each for a reason:
//
//   - One connection per (address, user, credentials, host key policy),
//     shared by all Host values and dialed lazily: Terraform may manage many
//     resources on one host, and each new SSH connection costs a handshake
//     and counts against sshd's MaxStartups.
//   - Sessions per connection are capped below sshd's MaxSessions (10).
//   - Bastions (Config.Jumps) are pool entries like any host: a host behind
//     one is reached over a direct-tcpip channel on the bastion's pooled
//     connection, so one bastion connection serves every host behind it.
//     Each hop verifies its own host key, authenticates on its own and is
//     bounded by Timeout; errors name the hop that failed (Error.Bastion).
//   - A dead connection is noticed by its keepalive (interval + timeout),
//     or at once when its socket closes; a command running on it fails
//     with ErrConnectionLost.
//   - Host keys fail closed and known_hosts is never written: trusting a
//     key is the user's decision; errors carry the fingerprint and key line
//     so the provider can tell them how to pin it. Host certificates are
//     accepted only from a pinned or @cert-authority CA, naming the host,
//     within their validity period.
//   - Scripts are constants, sent base64-encoded inside a one-line command
//     that every common login shell (bash, dash, zsh, fish, tcsh/csh, mksh,
//     busybox sh) hands unchanged to /bin/sh (see commandLine); user data
//     only ever travels on stdin, so nothing user-controlled is parsed by a
//     shell. Markers around the script tell the host's problems (a login
//     shell that runs nothing, a login file that eats stdin, sudo's
//     refusals) from the script's failures.
//   - Every command is bounded: Config.CommandTimeout, the caller's ctx and
//     MaxOutput. Giving up stops the remote command (a KILL signal request,
//     and the wrapper's own kill of its process group once the channel
//     closes), so nothing is left running on the host.
//   - A script is never run twice: a dead connection is only retried when
//     the exec request had not yet been sent.
//   - Secrets (passwords, passphrases, keys) never reach errors, logs or
//     command lines; the sudo password goes to sudo's stdin after sudo
//     printed a per-run random prompt.
//
// This package must not import terraform-plugin-* or other internal
// packages; the provider adapts its Logger to tflog.
package sshclient

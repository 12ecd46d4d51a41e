package provider

import (
	"fmt"
	"strings"

	"github.com/terraform-yama/terraform-provider-yama/internal/yama"
)

// importFormat is the import ID's syntax, for messages.
const importFormat = "HOST, HOST:PORT or either followed by ,FILE (e.g. web1.example.com, [2001:db8::1]:2222, " +
	"web1.example.com,/etc/sysctl.d/60-custom.conf)"

// parseImportTarget accepts HOST[:PORT][,FILE]: the host, its port (0: the
// default) and the drop-in to manage ("" : the default file). FILE must be
// what the `file` attribute accepts.
func parseImportTarget(id string) (host string, port int, file string, err error) {
	hostPart, file, hasFile := strings.Cut(id, ",")
	if hasFile {
		if file == "" {
			return "", 0, "", fmt.Errorf("FILE after the comma is empty")
		}
		if err := yama.ValidateFile(file); err != nil {
			return "", 0, "", fmt.Errorf("FILE %q: %w", file, err)
		}
	}
	host, port, err = parseImportID(hostPart)
	return host, port, file, err
}

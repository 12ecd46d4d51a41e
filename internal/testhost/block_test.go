package testhost

import (
	"os"
	"testing"
)

// Two Envs, in one process or two, never share a loopback block.
func TestReserveBlockIsExclusive(t *testing.T) {
	seen := map[int]bool{}
	var held []*os.File
	defer func() {
		for _, f := range held {
			f.Close()
		}
	}()
	for i := 0; i < 5; i++ {
		octet, f, err := reserveBlock()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, f)
		if seen[octet] {
			t.Fatalf("block 127.%d.0.0/16 handed out twice", octet)
		}
		if octet < firstOctet || octet >= firstOctet+octets {
			t.Fatalf("octet %d outside the range", octet)
		}
		seen[octet] = true
	}
	// A released block can be taken again (other test binaries may hold
	// some blocks meanwhile: only the released one is looked for).
	var first int
	for o := range seen {
		first = o
		break
	}
	for j, f := range held {
		if f.Name() == blockFile(first) {
			f.Close()
			held = append(held[:j], held[j+1:]...)
			break
		}
	}
	for i := 0; i < octets; i++ {
		octet, f, err := reserveBlock()
		if err != nil {
			break
		}
		held = append(held, f)
		if octet == first {
			return
		}
	}
	t.Errorf("released block 127.%d.0.0/16 could not be reserved again", first)
}

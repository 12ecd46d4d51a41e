package provider

import (
	"fmt"
	"time"
)

// waitValidator accepts a non-negative Go duration: wait_for_ssh = "0s"
// turns an inherited wait off.
var waitValidator = stringCheck{"Invalid wait_for_ssh", "a Go duration, 0s or more", checkWait}

func checkWait(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"0s\" or \"5m\"", s)
	}
	if d < 0 {
		return fmt.Errorf("%q must not be negative", s)
	}
	return nil
}

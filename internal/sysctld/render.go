package sysctld

// Render returns the managed drop-in for one key: an optional one-line
// comment, then "key = value". Callers validate that comment and value hold
// no control characters (a newline would end the line early) and that value
// has no leading or trailing blanks (the parser trims them, so they would not
// read back). An empty comment renders no comment line.
func Render(key, value, comment string) []byte {
	n := len(key) + len(value) + 4
	if comment != "" {
		n += len(comment) + 3
	}
	b := make([]byte, 0, n)
	if comment != "" {
		b = append(b, "# "...)
		b = append(b, comment...)
		b = append(b, '\n')
	}
	b = append(b, key...)
	b = append(b, " = "...)
	b = append(b, value...)
	b = append(b, '\n')
	return b
}

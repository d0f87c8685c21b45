package configdiff

import "encoding/json"

// canonicalJSON re-encodes a JSON value with sorted keys; other text is returned as is.
func canonicalJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s
	}
	return string(b)
}

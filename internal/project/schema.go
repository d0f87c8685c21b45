package project

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ExtSchema is the JSON Schema of the x-vllmctl block, for editors and for check.
//
//go:embed schema/x-vllmctl.schema.json
var ExtSchema []byte

var extSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ExtSchema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	const url = "https://vllmctl.dev/schema/x-vllmctl.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
})

// ExtProblem is one schema violation of an x-vllmctl block.
type ExtProblem struct {
	Path    string // dotted, relative to the block ("" for the block itself)
	Message string
}

// ValidateExt checks an x-vllmctl value against ExtSchema.
func ValidateExt(v any) []ExtProblem {
	sch, err := extSchema()
	if err != nil {
		return []ExtProblem{{Message: "internal schema error: " + err.Error()}}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []ExtProblem{{Message: err.Error()}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return []ExtProblem{{Message: err.Error()}}
	}
	verr := sch.Validate(inst)
	if verr == nil {
		return nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return []ExtProblem{{Message: verr.Error()}}
	}
	var out []ExtProblem
	var walk func(u *jsonschema.OutputUnit)
	walk = func(u *jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			msg, _ := json.Marshal(u.Error)
			var s string
			_ = json.Unmarshal(msg, &s)
			out = append(out, ExtProblem{Path: strings.ReplaceAll(strings.TrimPrefix(u.InstanceLocation, "/"), "/", "."), Message: s})
		}
		for i := range u.Errors {
			walk(&u.Errors[i])
		}
	}
	walk(ve.BasicOutput())
	if len(out) == 0 {
		out = append(out, ExtProblem{Message: fmt.Sprint(verr)})
	}
	return out
}

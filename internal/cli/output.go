package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"go.yaml.in/yaml/v4"
)

// format is the value of -o.
type format string

// Output formats. Every command that prints data takes table (the default),
// json and yaml; check also takes sarif and github.
const (
	formatTable  format = "table"
	formatJSON   format = "json"
	formatYAML   format = "yaml"
	formatSARIF  format = "sarif"
	formatGitHub format = "github"
)

// formatFlag is -o: a format among those its command takes, refused as a
// usage error when parsed (before the command runs) otherwise.
type formatFlag struct {
	p       *format
	allowed []format
}

func (f formatFlag) String() string { return string(*f.p) }
func (f formatFlag) Type() string   { return "format" }

func (f formatFlag) Set(s string) error {
	if slices.Contains(f.allowed, format(s)) {
		*f.p = format(s)
		return nil
	}
	names := make([]string, len(f.allowed))
	for i, a := range f.allowed {
		names[i] = string(a)
	}
	return fmt.Errorf("unknown output format %q (use %s or %s)", s, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

// render prints v as data under -o json or yaml, or else runs table, which
// prints it for people on w.
func (e *env) render(v any, table func(w io.Writer) error) error {
	if e.output != formatTable {
		return writeData(e.stdout, e.output, v)
	}
	return table(e.stdout)
}

// writeData prints v as JSON or YAML (field names from the json tags).
func writeData(w io.Writer, f format, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if f == formatJSON {
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return err
	}
	out, err := yaml.Marshal(jsonNumbers(generic))
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

func jsonNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// table writes aligned columns.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

package kube

import (
	"bytes"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/vllmctl/vllmctl/internal/redact"
)

// File is one file of an export.
type File struct {
	Name   string
	Data   []byte
	Secret bool // holds secret values: write it 0600, never print it
}

// SecretFile and SecretExample are the names of the Secret's file with its
// values (--include-secrets) and with them masked. kubectl apply -f DIR reads
// neither the example (its extension is not .yaml) nor, by mistake, masked values.
const (
	SecretFile    = "secret.yaml"
	SecretExample = "secret.yaml.example"
)

// Objects returns an engine's objects in apply order: claim, Service, Deployment.
func (e *Engine) Objects() []runtime.Object {
	var out []runtime.Object
	if e.Claim != nil {
		out = append(out, e.Claim)
	}
	return append(out, e.Svc, e.Deployment)
}

// Render writes one file per engine (<name>.yaml) and the Secret's file:
// SecretFile with the values when includeSecrets, SecretExample with them
// masked otherwise.
func Render(r *Result, includeSecrets bool) ([]File, error) {
	var files []File
	for _, e := range r.Engines {
		header := fmt.Sprintf("# vllmctl export kubernetes: profile %s, service %s, %d GPU(s).\n# Apply with: kubectl apply -f %s.yaml", e.Profile, e.Service, e.GPUs, e.Name)
		if r.SecretName != "" {
			header += fmt.Sprintf(" (after the Secret %s: %s)", r.SecretName, SecretFile)
		}
		data, err := Marshal(header+"\n", e.Objects()...)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: e.Name + ".yaml", Data: data})
	}
	if r.SecretName == "" {
		return files, nil
	}
	var unknown []string
	for _, v := range r.Secrets {
		if !v.Known {
			unknown = append(unknown, v.Key)
		}
	}
	if includeSecrets {
		if len(unknown) > 0 {
			return nil, fmt.Errorf("--include-secrets: %v have no value here: set them in .env or the environment, or export without --include-secrets and create the Secret yourself", unknown)
		}
		data, err := Marshal(fmt.Sprintf("# The Secret of project %s, with its values: keep this file out of version control.\n", r.Project), r.Secret(""))
		if err != nil {
			return nil, err
		}
		return append(files, File{Name: SecretFile, Data: data, Secret: true}), nil
	}
	header := fmt.Sprintf("# The Secret of project %s, its values masked (%s).\n# Export with --include-secrets to write %s with the values, or create it:\n#   kubectl create secret generic %s", r.Project, redact.Mask, SecretFile, r.SecretName)
	for _, v := range r.Secrets {
		header += fmt.Sprintf(" \\\n#     --from-literal=%s=...", v.Key)
	}
	data, err := Marshal(header+"\n", r.Secret(redact.Mask))
	if err != nil {
		return nil, err
	}
	return append(files, File{Name: SecretExample, Data: data}), nil
}

// Marshal writes objects as one YAML stream, without status and empty
// creation timestamps, after a header comment.
func Marshal(header string, objs ...runtime.Object) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i, o := range objs {
		if i > 0 || header != "" {
			buf.WriteString("---\n")
		}
		m, err := toMap(o)
		if err != nil {
			return nil, err
		}
		b, err := yaml.Marshal(m)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// toMap is an object as plain data, without the fields the server owns.
func toMap(o any) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	clean(m)
	return m, nil
}

// clean drops creationTimestamp: null and empty objects left by omitempty-less structs.
func clean(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			if k == "creationTimestamp" && c == nil {
				delete(t, k)
				continue
			}
			clean(c)
			if cm, ok := c.(map[string]any); ok && len(cm) == 0 && (k == "resources" || k == "metadata" || k == "strategy") {
				delete(t, k)
			}
		}
	case []any:
		for _, c := range t {
			clean(c)
		}
	}
}

package project

import (
	"os"
	"path"
	"path/filepath"

	"go.yaml.in/yaml/v4"
)

// IncludedFiles lists the compose files the file rel (relative to root,
// slash-separated) includes with a top-level include: — the short form
// (a path), the long form (path: a path or a list) — relative to root,
// slash-separated. Docker compose loads them with the file, so they are
// not profiles of their own.
func IncludedFiles(root, rel string) []string {
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
	if err != nil {
		return nil
	}
	var doc struct {
		Include []yaml.Node `yaml:"include"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	dir := path.Dir(rel)
	var out []string
	addPath := func(p string) {
		if p == "" || filepath.IsAbs(p) {
			return
		}
		out = append(out, path.Clean(path.Join(dir, filepath.ToSlash(p))))
	}
	for _, n := range doc.Include {
		switch n.Kind {
		case yaml.ScalarNode:
			addPath(n.Value)
		case yaml.MappingNode:
			var long struct {
				Path yaml.Node `yaml:"path"`
			}
			if n.Decode(&long) != nil {
				continue
			}
			switch long.Path.Kind {
			case yaml.ScalarNode:
				addPath(long.Path.Value)
			case yaml.SequenceNode:
				for _, p := range long.Path.Content {
					addPath(p.Value)
				}
			}
		}
	}
	return out
}

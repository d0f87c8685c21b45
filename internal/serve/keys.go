package serve

import (
	"fmt"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gateway"
	"github.com/vllmctl/vllmctl/internal/project"
)

// KeyPrefix names the root .env variables that hold gateway client keys:
// VLLMCTL_GATEWAY_KEY_<NAME>=<key>[|model1,model2] (or sha256:<hex>).
const KeyPrefix = "VLLMCTL_GATEWAY_KEY_"

// Keys reads the gateway's client keys from the project's root .env, sorted
// by variable name; an empty value is no key. A malformed key is an error located
// at its .env line.
func Keys(p *project.Project) ([]gateway.Key, error) {
	var keys []gateway.Key
	if p.Env == nil {
		return nil, nil
	}
	for _, k := range p.Env.Keys() {
		name, ok := strings.CutPrefix(k, KeyPrefix)
		if !ok || p.Env.Values[k] == "" {
			continue
		}
		key, err := gateway.ParseKey(name, p.Env.Values[k])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", p.Env.Path, p.Env.Lines[k], err)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

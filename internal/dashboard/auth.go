package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/vllmctl/vllmctl/internal/gateway"
)

// cookieName is the session cookie a browser keeps after the login form or
// ?key=: "<key name>.<hex HMAC-SHA256 of the key's hash under a secret drawn
// when serve starts>". It never holds the key, and it dies with the process.
const cookieName = "vllmctl_dashboard"

// auth checks a request as the gateway does: with no key every request is
// let in; else the request carries one of the keys as "Authorization: Bearer
// <key>", or the session cookie that a valid key earned.
type auth struct {
	keys   []gateway.Key
	secret [32]byte
}

func newAuth(keys []gateway.Key) *auth {
	a := &auth{keys: keys}
	_, _ = rand.Read(a.secret[:]) // never fails (crypto/rand)
	return a
}

func (a *auth) open() bool { return len(a.keys) == 0 }

// byKey returns the key whose hash is that of tok, or nil.
func (a *auth) byKey(tok string) *gateway.Key {
	h := sha256.Sum256([]byte(tok))
	var found *gateway.Key
	for i := range a.keys {
		if subtle.ConstantTimeCompare(h[:], a.keys[i].Hash[:]) == 1 {
			found = &a.keys[i]
		}
	}
	return found
}

func (a *auth) session(k *gateway.Key) string {
	m := hmac.New(sha256.New, a.secret[:])
	m.Write([]byte(k.Name))
	m.Write([]byte{0})
	m.Write(k.Hash[:])
	return k.Name + "." + hex.EncodeToString(m.Sum(nil))
}

// check returns whether r may see the dashboard, and the key it carries (nil
// when the dashboard is open).
func (a *auth) check(r *http.Request) (*gateway.Key, bool) {
	if a.open() {
		return nil, true
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		k := a.byKey(tok)
		return k, k != nil
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, false
	}
	name, _, _ := strings.Cut(c.Value, ".")
	for i := range a.keys {
		k := &a.keys[i]
		if k.Name == name && hmac.Equal([]byte(a.session(k)), []byte(c.Value)) {
			return k, true
		}
	}
	return nil, false
}

// login sets the session cookie for tok's key; false when tok is no key.
func (a *auth) login(w http.ResponseWriter, r *http.Request, tok string) bool {
	k := a.byKey(tok)
	if k == nil {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: a.session(k), Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	return true
}

// allows reports whether a key may see a profile serving these models: a key
// limited to some models sees only the profiles that serve one of them.
func allows(k *gateway.Key, models []string) bool {
	if k == nil || len(k.Models) == 0 {
		return true
	}
	for _, m := range models {
		for _, a := range k.Models {
			if m == a {
				return true
			}
		}
	}
	return false
}

// Package natsauthtest makes NATS credentials for tests: nkeys of any
// kind, and an operator, account and user whose JWTs (v2 claims, signed
// "ed25519-nkey") a nats-server in operator mode accepts from a MEMORY
// resolver. It is test support: keys come from crypto/rand, JWTs never
// expire, and no limits or permissions are set.
package natsauthtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pxroute/pxroute/endpoints/natsauth"
)

// Key is an nkey: its kind, public key ("U...", "A...", "O...") and seed.
type Key struct {
	Kind   natsauth.Kind
	Public string
	Seed   string // "SU...", "SA...", "SO...": the secret, for files
	priv   ed25519.PrivateKey
}

// NewKey generates a key of kind k.
func NewKey(k natsauth.Kind) (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	public, err := natsauth.EncodePublicKey(k, pub)
	if err != nil {
		return nil, err
	}
	seed, err := natsauth.EncodeSeed(k, priv.Seed())
	if err != nil {
		return nil, err
	}
	return &Key{Kind: k, Public: public, Seed: seed, priv: priv}, nil
}

// Chain is an operator, an account it signed and a user the account
// signed, with their JWTs.
type Chain struct {
	Operator, Account, User          *Key
	OperatorJWT, AccountJWT, UserJWT string
}

// NewChain generates a chain of fresh keys and signs its JWTs.
func NewChain() (*Chain, error) {
	c := &Chain{}
	var err error
	for _, p := range []struct {
		k    **Key
		kind natsauth.Kind
	}{{&c.Operator, natsauth.KindOperator}, {&c.Account, natsauth.KindAccount}, {&c.User, natsauth.KindUser}} {
		if *p.k, err = NewKey(p.kind); err != nil {
			return nil, err
		}
	}
	if c.OperatorJWT, err = SignJWT(c.Operator, c.Operator.Public, "test-operator", map[string]any{
		"type": "operator", "version": 2,
	}); err != nil {
		return nil, err
	}
	// -1 is "no limit"; an absent limit would be zero, which refuses.
	if c.AccountJWT, err = SignJWT(c.Operator, c.Account.Public, "test-account", map[string]any{
		"type": "account", "version": 2,
		"limits": map[string]any{
			"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
			"wildcards": true, "conn": -1, "leaf": -1,
		},
		"default_permissions": map[string]any{"pub": map[string]any{}, "sub": map[string]any{}},
	}); err != nil {
		return nil, err
	}
	if c.UserJWT, err = SignJWT(c.Account, c.User.Public, "test-user", map[string]any{
		"type": "user", "version": 2,
		"pub": map[string]any{}, "sub": map[string]any{},
		"subs": -1, "data": -1, "payload": -1,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Creds returns the user's .creds file, as nsc writes it.
func (c *Chain) Creds() []byte { return FormatCreds(c.UserJWT, c.User.Seed) }

// ServerConfig returns nats-server configuration lines for operator mode
// with the chain's account preloaded into a memory resolver.
func (c *Chain) ServerConfig() string {
	return fmt.Sprintf("operator: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: %s\n}\n",
		c.OperatorJWT, c.Account.Public, c.AccountJWT)
}

// FormatCreds writes a .creds file holding jwt and seed.
func FormatCreds(jwt, seed string) []byte {
	return fmt.Appendf(nil, "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"+
		"************************* IMPORTANT *************************\n"+
		"NKEY Seed printed below can be used to sign and prove identity.\n\n"+
		"-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"+
		"*************************************************************\n", jwt, seed)
}

// SignJWT returns a JWT whose issuer is iss, for subject sub, carrying
// nats as its "nats" claim. Its jti is the SHA-512/256 of the standard
// claims with an empty jti, base32, as nats-io/jwt computes it.
func SignJWT(iss *Key, sub, name string, nats map[string]any) (string, error) {
	std := struct {
		JTI  string `json:"jti,omitempty"`
		IAT  int64  `json:"iat,omitempty"`
		ISS  string `json:"iss,omitempty"`
		Name string `json:"name,omitempty"`
		Sub  string `json:"sub,omitempty"`
	}{IAT: time.Now().Unix(), ISS: iss.Public, Name: name, Sub: sub}
	j, err := json.Marshal(std)
	if err != nil {
		return "", err
	}
	h := sha512.Sum512_256(j)
	claims := map[string]any{
		"jti": base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:]),
		"iat": std.IAT, "iss": std.ISS, "name": name, "sub": sub, "nats": nats,
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	msg := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ed25519-nkey"}`)) + "." + enc.EncodeToString(payload)
	return msg + "." + enc.EncodeToString(ed25519.Sign(iss.priv, []byte(msg))), nil
}

// Package natsauth reads the credentials a NATS client authenticates with
// and computes what its CONNECT carries: an nkey seed (a user's ed25519
// key, "SU..."), its public key ("U..."), the signature of the server's
// nonce, and the user JWT and seed of a .creds file. It imports nothing of
// the project and only the standard library.
//
// An nkey is base32 (RFC 4648, no padding) of a prefix, a 32-byte ed25519
// key and a CRC-16/XMODEM checksum of both, little endian. A public key's
// prefix is one byte naming its kind (U user, A account, O operator, ...);
// a seed's is two bytes, the seed marker and the kind, so every user seed
// reads "SU...". ParseSeed takes only user seeds: a client never holds
// another kind, and a seed of another kind is named in the error.
//
// A .creds file is two fenced blocks, the user JWT then the seed, each
// fence a line starting and ending with at least three dashes (their
// count and label vary between tools); ParseCreds accepts what nats.go
// accepts, including a seed on a bare line.
//
// ReadSeedFile and ReadCredsFile read the files a configuration names
// (nkey_seed_file, creds_file): a regular file only its owner may read,
// refused from its size before it is read when it is over MaxSeedFile or
// MaxCredsFile bytes, and never read past that bound.
//
// Errors wrap the package's Err values and describe lengths, offsets and
// kinds, never the secret's characters. Buffers this package reads or
// decodes a seed into are zeroed after use; KeyPair.Wipe zeroes the private
// key; a caller of ParseSeed or ParseCreds owns (and should zero) its input.
//
// EncodeSeed, EncodePublicKey and DecodePublicKey exist for tests and
// tools that need keys of any kind (natsauthtest builds operator, account
// and user JWTs with them).
package natsauth

package trust

import (
	"errors"
	"fmt"
	"time"

	"github.com/hydrakit/hydrakit/umf"
)

// ErrRejected is wrapped by every error of Check: the message must be dropped (pub/sub) or
// dead-lettered (queues).
var ErrRejected = errors.New("hydrakit: message rejected")

// ReplayWindow is how far a pub/sub message's ts may lie from the receiver's clock when signatures
// are required. A captured message replayed later than this is refused; within it, a receiver's
// recent-mid set refuses the copy (docs/security.md says how far that set reaches). Two minutes
// covers clock skew between hosts running NTP many times over and a message that waited in Redis's
// output buffers, and it keeps the span an attacker can replay in short.
const ReplayWindow = 2 * time.Minute

// Keys signs with the first secret and accepts any of them. A nil *Keys signs nothing and accepts
// everything, so components call it unconditionally.
type Keys struct {
	signers []*umf.Signer
	require bool
}

// New returns Keys signing with secrets[0] and accepting each of secrets. With require set, Check
// refuses messages without a valid signature; without it, Check accepts every message, so that a
// fleet can start signing before it starts requiring (docs/security.md, rollout).
func New(secrets [][]byte, require bool) *Keys {
	k := &Keys{require: require}
	for _, s := range secrets {
		k.signers = append(k.signers, umf.NewSigner(s))
	}
	return k
}

// Signs reports whether outgoing messages are signed.
func (k *Keys) Signs() bool { return k != nil && len(k.signers) > 0 }

// Requires reports whether incoming messages must carry a valid signature.
func (k *Keys) Requires() bool { return k != nil && k.require }

// Sign sets m's signature with the current secret; it does nothing without one. Sign after the last
// change to any signed field.
func (k *Keys) Sign(m *umf.Message) error {
	if !k.Signs() {
		return nil
	}
	return k.signers[0].Sign(m)
}

// AppendReply appends the wire form of the reply to orig (umf.AppendReply), signed with the current
// secret when signing, and returns the address it goes to.
func (k *Keys) AppendReply(dst []byte, orig, resp *umf.Message) (to string, out []byte, err error) {
	if !k.Signs() {
		return umf.AppendReply(dst, orig, resp)
	}
	return k.signers[0].AppendReply(dst, orig, resp)
}

// Check returns nil when signatures are not required, or when m carries a signature made with one of
// the secrets. With window > 0 (pub/sub), m's ts must also be within window of now. Errors wrap
// ErrRejected and say why, without echoing the message.
func (k *Keys) Check(m *umf.Message, now time.Time, window time.Duration) error {
	if !k.Requires() {
		return nil
	}
	if m.Signature == "" {
		return fmt.Errorf("%w: unsigned", ErrRejected)
	}
	valid := false
	for _, s := range k.signers {
		if s.Verify(m) == nil {
			valid = true
			break
		}
	}
	if !valid {
		return fmt.Errorf("%w: bad signature", ErrRejected)
	}
	if window > 0 {
		ts, err := time.Parse(time.RFC3339Nano, m.Timestamp)
		if err != nil {
			return fmt.Errorf("%w: signed message without a valid ts", ErrRejected)
		}
		if d := now.Sub(ts); d > window || d < -window {
			return fmt.Errorf("%w: ts %s is outside the replay window (%v)", ErrRejected, m.Timestamp, window)
		}
	}
	return nil
}

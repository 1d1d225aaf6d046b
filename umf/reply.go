package umf

import (
	"slices"
	"time"
)

// Reply builds the reply to orig the way Node's sendReplyMessage(orig, resp) does: start from orig,
// set rmid = orig.mid, to = orig.frm and frm = orig.to, then overlay every field resp sets (falsy
// fields of resp do not count, as in Node). The reply gets resp's mid and ts, or a new mid and the
// current time, and resp's ver or UMF/1.4.6. Finally, if the result has a via (orig's, or resp's which
// overrides it), the reply is addressed to via. Fields orig carries stay unless resp sets them: hdr,
// typ, tmo, aut, via, fwd, and even bdy when resp has none.
//
// Deliberate differences from Node: orig's sig is not carried (it cannot match the reply; Sign the
// reply instead), and orig's pri, ttl and for are not carried (Node drops them too) while resp's are
// kept. Reply does not modify orig or resp.
func Reply(orig, resp *Message) *Message {
	r := new(Message)
	buildReply(r, orig, resp)
	canon := r.bodyIsCanonical()
	r.Headers, r.Body, r.canonBody = slices.Clone(r.Headers), slices.Clone(r.Body), nil
	if canon {
		r.canonBody = r.Body
	}
	return r
}

// AppendReply appends the wire form of Reply(orig, resp) to dst, without building the reply, and
// returns the address it goes to (its to): what a transport needs to send a reply, without
// allocating a Message.
func AppendReply(dst []byte, orig, resp *Message) (to string, out []byte, err error) {
	var r Message
	buildReply(&r, orig, resp)
	out, err = r.AppendMarshal(dst)
	return r.To, out, err
}

// AppendReply is the function AppendReply for a signed reply: the reply is signed with s before it
// is appended, still without allocating a Message.
func (s *Signer) AppendReply(dst []byte, orig, resp *Message) (to string, out []byte, err error) {
	var r Message
	buildReply(&r, orig, resp)
	if err := s.Sign(&r); err != nil {
		return "", dst, err
	}
	out, err = r.AppendMarshal(dst)
	return r.To, out, err
}

// buildReply sets r to the reply, sharing orig's and resp's Headers and Body.
func buildReply(r, orig, resp *Message) {
	*r = Message{
		To:            orig.From,
		From:          orig.To,
		Headers:       orig.Headers,
		RMID:          orig.MID,
		Timeout:       orig.Timeout,
		timeoutText:   orig.timeoutText,
		Type:          orig.Type,
		Via:           orig.Via,
		Forward:       orig.Forward,
		Body:          orig.Body,
		Authorization: orig.Authorization,
	}
	if len(r.Headers) > 0 && isJSONNull(r.Headers) {
		r.Headers = nil
	}
	if len(r.Body) > 0 && !truthyRaw(r.Body) {
		r.Body = nil // Node's createMessage drops a falsy body
	}
	overlay(&r.To, resp.To)
	overlay(&r.From, resp.From)
	if len(resp.Headers) > 0 && !isJSONNull(resp.Headers) {
		r.Headers = resp.Headers
	}
	overlay(&r.RMID, resp.RMID)
	overlay(&r.Signature, resp.Signature)
	if resp.Timeout != 0 || resp.timeoutText != "" {
		r.Timeout, r.timeoutText = resp.Timeout, resp.timeoutText
	}
	overlay(&r.Type, resp.Type)
	overlay(&r.Via, resp.Via)
	overlay(&r.Forward, resp.Forward)
	if len(resp.Body) > 0 && truthyRaw(resp.Body) {
		r.Body = resp.Body
		if resp.bodyIsCanonical() {
			r.canonBody = resp.Body
		}
	}
	overlay(&r.Authorization, resp.Authorization)
	r.Priority, r.TTL, r.For = resp.Priority, resp.TTL, resp.For

	r.MID, r.Timestamp, r.Version = resp.MID, resp.Timestamp, resp.Version
	if r.MID == "" {
		r.MID = NewMID()
	}
	if r.Timestamp == "" {
		r.Timestamp = FormatTime(time.Now())
	}
	if r.Version == "" {
		r.Version = Version
	}
	// Node tests via after Object.assign has overlaid the response onto the original, so a via set by
	// resp redirects the reply too; its forward step is a no-op for the same reason.
	if r.Via != "" {
		r.To = r.Via
	}
}

func overlay(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

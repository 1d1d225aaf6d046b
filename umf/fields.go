package umf

// field numbers the message fields; each has a long and a short spelling (sometimes the same).
type field uint8

const (
	fTo field = iota
	fFrom
	fHeaders
	fMID
	fRMID
	fSignature
	fTimeout
	fTimestamp
	fType
	fVersion
	fVia
	fForward
	fBody
	fAuthorization
	fPriority
	fTTL
	fFor
	numFields
)

// lookupField maps a JSON key to its field and whether it is the long spelling, which wins as in
// Node's createMessage (`message.from || message.frm`).
func lookupField(key []byte) (f field, long, ok bool) {
	switch string(key) {
	case "to":
		return fTo, true, true
	case "from":
		return fFrom, true, true
	case "frm":
		return fFrom, false, true
	case "headers":
		return fHeaders, true, true
	case "hdr":
		return fHeaders, false, true
	case "mid":
		return fMID, true, true
	case "rmid":
		return fRMID, true, true
	case "signature":
		return fSignature, true, true
	case "sig":
		return fSignature, false, true
	case "timeout":
		return fTimeout, true, true
	case "tmo":
		return fTimeout, false, true
	case "timestamp":
		return fTimestamp, true, true
	case "ts":
		return fTimestamp, false, true
	case "type":
		return fType, true, true
	case "typ":
		return fType, false, true
	case "version":
		return fVersion, true, true
	case "ver":
		return fVersion, false, true
	case "via":
		return fVia, true, true
	case "forward":
		return fForward, true, true
	case "fwd":
		return fForward, false, true
	case "body":
		return fBody, true, true
	case "bdy":
		return fBody, false, true
	case "authorization":
		return fAuthorization, true, true
	case "aut":
		return fAuthorization, false, true
	case "priority":
		return fPriority, true, true
	case "pri":
		return fPriority, false, true
	case "ttl":
		return fTTL, true, true
	case "for":
		return fFor, true, true
	}
	return 0, false, false
}

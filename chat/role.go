package chat

import "strings"

// Role is what an account may do beyond chatting: moderators keep order
// (kick, mute, ban, purge), admins also grant roles and set the message of
// the day. The zero Role is a member.
type Role int

const (
	RoleMember Role = iota
	RoleModerator
	RoleAdmin
)

// String is the role's name as commands and the CLI write it.
func (r Role) String() string {
	switch r {
	case RoleModerator:
		return "moderator"
	case RoleAdmin:
		return "admin"
	}
	return "member"
}

// Mark is how the role shows before a name in the member column: "@" for
// an admin, "+" for a moderator, "" for a member (as IRC's op and voice).
func (r Role) Mark() string {
	switch r {
	case RoleModerator:
		return "+"
	case RoleAdmin:
		return "@"
	}
	return ""
}

// ParseRole reads a role's name, in any case; ok is false for anything
// else.
func ParseRole(name string) (r Role, ok bool) {
	switch strings.ToLower(name) {
	case "member":
		return RoleMember, true
	case "moderator":
		return RoleModerator, true
	case "admin":
		return RoleAdmin, true
	}
	return RoleMember, false
}

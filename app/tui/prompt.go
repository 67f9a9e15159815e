package tui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// prompt is the line being typed and the hint bar under it: the text (a
// textinput edits it), the lines sent before (Up/Down), Tab's completion,
// and the line the command table refused last. It says what the log should
// show (a notice) by returning the text; it never posts: the Model does.
type prompt struct {
	st    *styles
	max   int // longest message in characters
	input textinput.Model

	recall   []string // lines sent, oldest first, at most recallSize
	recallAt int      // the recalled line shown; len(recall): none
	draft    string   // the unsent line, kept while recalling
	refused  string   // the line the command table refused last, kept in the input (see chat.AfterRefused)

	// offset is the first character of the input shown: the row scrolls
	// sideways to keep the cursor in view.
	offset int
	rows   inputRows // the input row and hint bar, built when they may have changed
	stale  bool      // rows must be built again
}

// inputRows are the input line, the hint bar and the cursor.
type inputRows struct {
	input, hint line
	cursorX     int
}

// newPrompt returns an empty prompt for messages of at most maxMessage
// characters.
func newPrompt(st *styles, maxMessage int) prompt {
	in := textinput.New()
	in.Prompt = "> "
	in.Placeholder = "Type a message, /help for commands"
	in.CharLimit = inputLimit(maxMessage) // overlong input is refused at Enter, with a notice
	in.SetVirtualCursor(false)            // the real terminal cursor: no blink timer per session
	inStyles := in.Styles()
	inStyles.Focused.Prompt, inStyles.Focused.Placeholder = st.prompt, st.placeholder
	in.SetStyles(inStyles)
	// Bubbles binds Ctrl+V to reading the clipboard, which would be the
	// server's: pastes arrive from the client's terminal instead.
	in.KeyMap.Paste.SetEnabled(false)
	// Ctrl+K jumps to a conversation (keys.go), instead of deleting to
	// the end of the line.
	in.KeyMap.DeleteAfterCursor.SetEnabled(false)
	in.Focus()
	return prompt{st: st, max: maxMessage, input: in, stale: true}
}

// inputLimit bounds what the input line holds: well above the message
// limit, so that an overlong message is refused with its true length.
func inputLimit(maxMessage int) int { return 8 * maxMessage }

// pasteLimit is the most bytes of one paste worth reading: any paste cut
// there is still longer than the input holds, so it is refused whole.
func pasteLimit(maxMessage int) int { return 4*inputLimit(maxMessage) + 4 }

func (p *prompt) value() string { return p.input.Value() }
func (p *prompt) empty() bool   { return p.input.Value() == "" }
func (p *prompt) clear()        { p.input.SetValue("") }

// edit hands a key or a paste to the textinput.
func (p *prompt) edit(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

// paste inserts a paste at the cursor, a paragraph as one line, unless the
// input would then hold more than it takes: then it is refused whole (the
// text stays in the user's clipboard) and notice says why.
func (p *prompt) paste(msg tea.PasteMsg) (cmd tea.Cmd, notice string) {
	msg.Content = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg.Content)
	if n := utf8.RuneCountInString(msg.Content) + utf8.RuneCountInString(p.input.Value()); n > p.input.CharLimit {
		return nil, fmt.Sprintf("Not pasted: that would make a message of %d characters or more; the limit is %d.", n, p.max)
	}
	return p.edit(msg), ""
}

// line is what Enter submits: the input, without the refused line a
// command typed after it follows (chat.AfterRefused).
func (p *prompt) line() string { return chat.AfterRefused(p.input.Value(), p.refused) }

// keep leaves line, submitted and not sent, in the input for the user to
// fix; refused says the command table refused it (rather than the room).
func (p *prompt) keep(line string, refused bool) {
	p.refused = ""
	if refused {
		p.refused = line
	}
	if line != p.input.Value() { // without the refused text before it
		p.input.SetValue(line)
		p.input.CursorEnd()
	}
}

// sent clears the input of line, which ran or was sent: Up brings it back.
func (p *prompt) sent(line string) {
	p.refused = ""
	p.remember(line)
	p.input.SetValue("")
}

// drop clears the input of a line that ran and may hold a secret
// (chat.Sensitive): unlike sent, Up never brings it back, and no draft
// holds it.
func (p *prompt) drop() {
	p.refused, p.draft = "", ""
	p.recallAt = len(p.recall)
	p.input.SetValue("")
}

// giveBack puts text, a line whose post failed, back in an empty input:
// nothing is lost.
func (p *prompt) giveBack(text string) {
	if p.input.Value() == "" && !chat.Sensitive(text) {
		p.input.SetValue(text)
	}
}

// remember adds text to the lines Up recalls, and ends a recall.
func (p *prompt) remember(text string) {
	if len(p.recall) == 0 || p.recall[len(p.recall)-1] != text {
		p.recall = append(p.recall, text)
		if len(p.recall) > recallSize {
			p.recall = p.recall[1:]
		}
	}
	p.recallAt = len(p.recall)
}

// recallLine steps through the lines sent before; past the newest it
// brings back the line being typed when recall began.
func (p *prompt) recallLine(step int) {
	if len(p.recall) == 0 {
		return
	}
	if p.recallAt == len(p.recall) {
		p.draft = p.input.Value()
	}
	p.recallAt = min(max(p.recallAt+step, 0), len(p.recall))
	if p.recallAt == len(p.recall) {
		p.input.SetValue(p.draft)
	} else {
		p.input.SetValue(p.recall[p.recallAt])
	}
	p.input.CursorEnd()
}

// complete is Tab: it completes a command's name at the start of the
// line, a channel's after a "#", else the name of someone online. When
// several match and the word cannot grow, notice lists them.
func (p *prompt) complete(names, channels []string) (notice string) {
	value, pos := p.input.Value(), p.input.Position()
	what := "commands"
	line, cursor, matches, ok := completeCommand(value, pos, commandNames())
	if !ok {
		what = "channels"
		line, cursor, matches, ok = completeChannel(value, pos, channels)
	}
	if !ok {
		what = "names"
		line, cursor, matches = completeName(value, pos, names)
	}
	p.input.SetValue(line)
	p.input.SetCursor(cursor)
	if len(matches) > 1 {
		return matchesNotice(what, matches)
	}
	return ""
}

// typing is the word that ends at the cursor, "" inside a word.
func (p *prompt) typing() string {
	runes, start, end, _ := wordBefore(p.input.Value(), p.input.Position())
	return string(runes[start:end])
}

// refresh draws the input row, width cells wide: the prompt, then the part
// of the text around the cursor that fits, and says where the cursor is;
// and the hint bar under it. The textinput edits the text; its own view
// counts characters where the terminal counts cells, so the cursor would
// stray after wide characters. A masked input (textinput.EchoPassword)
// shows its mark for each character, never the text.
func (p *prompt) refresh(width int) {
	r := inputRows{hint: p.hintLine(width)}
	prompt := p.st.prompt.Render(p.input.Prompt)
	promptWidth := ansi.WcWidth.StringWidth(p.input.Prompt)
	if value := p.input.Value(); value == "" {
		placeholder := ansi.WcWidth.Truncate(p.input.Placeholder, max(width-promptWidth, 0), "")
		r.input = line{text: prompt + p.st.placeholder.Render(placeholder), width: promptWidth + ansi.WcWidth.StringWidth(placeholder)}
		r.cursorX, p.offset = promptWidth, 0
	} else {
		runes, pos := []rune(value), p.input.Position()
		if p.input.EchoMode == textinput.EchoPassword { // a secret: one mark per character
			runes = []rune(strings.Repeat(string(p.input.EchoCharacter), len(runes)))
		}
		row := max(width-promptWidth, 1)
		p.offset = inputWindow(runes, pos, p.offset, row)
		shown := 0
		var b strings.Builder
		for i := p.offset; i < len(runes) && shown+runeCells(runes[i]) <= row; i++ {
			if i == pos {
				r.cursorX = promptWidth + shown
			}
			shown += runeCells(runes[i])
			if !hidden(runes[i]) {
				b.WriteRune(runes[i])
			}
		}
		if pos == len(runes) {
			r.cursorX = promptWidth + shown
		}
		r.input = line{text: prompt + b.String(), width: promptWidth + shown}
	}
	p.rows, p.stale = r, false
}

// hintLine is the hint bar, width cells wide, with a character counter
// once the text nears the limit.
func (p *prompt) hintLine(width int) line {
	hint := " /help · Ctrl+K jump · PgUp/PgDn scroll · Ctrl+C quit"
	counter, counterWidth := "", 0
	if n := utf8.RuneCountInString(p.input.Value()); n > p.max-100 {
		style := p.st.counter
		if n > p.max {
			style = p.st.counterOver
		}
		plain := fmt.Sprintf("%d/%d ", n, p.max)
		counter, counterWidth = style.Render(plain), len(plain)
	}
	space := width - ansi.WcWidth.StringWidth(hint) - counterWidth
	if space < 0 {
		room := max(width-counterWidth, 0)
		return line{text: ansi.WcWidth.Truncate(p.st.hint.Render(hint), room, "") + counter, width: min(ansi.WcWidth.StringWidth(hint), room) + counterWidth}
	}
	return line{text: p.st.hint.Render(hint) + strings.Repeat(" ", space) + counter, width: width}
}

// inputWindow is the first character of the input shown in a row of the
// given cells: it moves only as far as keeping the cursor in view needs
// (a cell is kept for the cursor after the text), never leaves the row's
// end empty while text is hidden on the left, and never starts on a
// character that only modifies the one before it.
func inputWindow(runes []rune, pos, offset, row int) int {
	// first: the earliest start that still shows the cursor's cell.
	first, used := pos, runeCellsAt(runes, pos)
	for first > 0 && used+runeCells(runes[first-1]) <= row {
		used += runeCells(runes[first-1])
		first--
	}
	// fill: the earliest start whose text still fits the row.
	fill, used := len(runes), 1 // the cursor may sit after the text
	for fill > 0 && used+runeCells(runes[fill-1]) <= row {
		used += runeCells(runes[fill-1])
		fill--
	}
	offset = min(max(min(offset, fill), first), pos)
	for offset < pos && modifies(runes[offset]) {
		offset++
	}
	return offset
}

// runeCellsAt is the cells of the character at i, or the one cell the
// cursor takes after the text.
func runeCellsAt(runes []rune, i int) int {
	if i < len(runes) {
		return max(runeCells(runes[i]), 1)
	}
	return 1
}

// runeCells is how many cells a terminal gives r: wcwidth, as xterm and
// tmux count. Controls and format characters are not shown at all.
func runeCells(r rune) int {
	if hidden(r) {
		return 0
	}
	return ansi.WcWidth.StringWidth(string(r))
}

// hidden: controls and format characters are never drawn.
func hidden(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

// modifies reports whether r only changes the character before it: a
// combining mark (variation selectors are marks too), an emoji skin tone.
func modifies(r rune) bool {
	return unicode.IsMark(r) || (r >= 0x1F3FB && r <= 0x1F3FF) || hidden(r)
}

"""The interactive shell: a prompt_toolkit line editor around the Interpreter.

The same Shell runs on the local terminal (`besip`, also as a login shell or an OpenSSH
ForceCommand) and on any pair of byte streams with a terminal size (`run`, for the built-in
SSH server's `shell` channels).
"""

import io
import os
import re
import threading
import time

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, run_in_terminal
from prompt_toolkit.application.current import set_app
from prompt_toolkit.completion import CompleteEvent, get_common_complete_suffix
from prompt_toolkit.data_structures import Size
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import FormattedTextControl, Layout, Window
from prompt_toolkit.output import create_output
from prompt_toolkit.styles import Style
from prompt_toolkit.utils import get_cwidth

from ..datastore import confirm
from . import access, masking
from .complete import ErrorLexer, ShellCompleter, columns, help_lines
from .interp import CliError, Interpreter, Leave
from .lexer import LexError, split_pipes, tokenize
from .pipes import STAGES
from .shielding import Shield, interruptible
from .tokens import ParseError, Tokens

CTRL_Z = "\x1a"                # prompt() results that are not typed lines
PASTE = "\x1b[200~"
LISTING = "\x1b[?"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_STYLE = Style.from_dict({"invalid": "fg:ansired underline"})
LEAVE_CHOICES = ("yes", "no", "cancel")      # first letters differ: `c` is not ambiguous
HISTORY_BYTES = 256 * 1024


class Shell:
    """One user's interactive session: ROLE decides whether configuration mode is allowed."""

    def __init__(self, session, role, input=None, output=None):
        self.session = session
        self.buffer = io.StringIO()
        self.interp = Interpreter(session, self.buffer)
        self.interp.on_configure = access.configure_guard(session, role)
        self.interp.on_leave = self._ask_leave
        self.interp.on_confirmed = self._watch_confirmed
        self.interp.confirm = self._confirm
        self.announcements = []            # from other threads, printed at the prompt
        self.announcing = threading.Lock()
        if output is None:
            output = create_output()
        output.enable_cpr = False          # nothing here needs the cursor position
        self.prompts = PromptSession(
            history=_history(session), completer=ShellCompleter(self.interp),
            complete_while_typing=False,
            lexer=ErrorLexer(self.interp), style=_STYLE, key_bindings=self._bindings(),
            input=input, output=output, search_ignore_case=True)
        self.input, self.output = self.prompts.input, self.prompts.output
        self.listing = ([], "")                    # what ? or Tab has to print, and the line

    # ---------------------------------------------------------------- the loop

    def loop(self):
        """Read and run lines until the user leaves; the exit status."""
        with Shield(lambda: None) as idle:         # Ctrl-C between lines: noted, never raised
            return self._loop(idle)

    def _loop(self, idle):
        pending = ""                               # the unfinished last line of a paste
        while True:
            self.session.refresh()
            self._announce()
            prompt = self.interp.prompt()
            default, pending = pending, ""
            try:
                text = self.prompts.prompt(prompt, default=default, pre_run=lambda: self._fresh(idle))
            except KeyboardInterrupt:
                continue
            except EOFError:                       # Ctrl-D on an empty line, or a hang-up
                if self.input.closed:
                    return 0
                self.write("\n")
                if self.interp.mode is None:
                    return 0
                text = CTRL_Z                      # as Ctrl-Z, without echoing ^Z
            else:
                if text.startswith(CTRL_Z) and self.interp.mode is not None:
                    self.write("^Z\n")
            if text == LISTING:                      # ? help or a Tab list, then the line again
                lines, pending = self.listing
                self.buffer.write("".join(line + "\n" for line in lines))
                self.flush(paged=True)
                continue
            lines, echo = [text], False
            if text.startswith(CTRL_Z):              # as IOS: run the line typed, then end
                if self.interp.mode is None:
                    continue
                lines = [text[1:], "end"]
                self._remember(lines[:1])
            elif text.startswith(PASTE):             # pasted lines run as if typed one by one
                lines, echo = text[len(PASTE):].split("\n"), True
                pending = lines.pop()
                self._remember(lines)
            try:
                with interruptible():
                    for number, line in enumerate(lines):
                        if echo and number:
                            self.write(prompt + _CONTROL.sub(_caret_notation, line) + "\n")
                        self.run_line(prompt, line)
                        prompt = self.interp.prompt()
            except Leave:
                self.flush()
                return 0
            except KeyboardInterrupt:                # Ctrl-C while a command runs
                self.flush()
                self.write("^C\n")

    def _fresh(self, idle):
        """As the line editor starts: a Ctrl-C pressed since the last line drops the line
        it would have shown again."""
        if idle.pressed:
            idle.pressed = False
            self.prompts.default_buffer.reset()

    def _remember(self, lines):
        """LINES (not entered with Enter) into the Up-arrow history, as typed lines go."""
        for line in lines:
            if line.strip():
                self.prompts.history.append_string(line)

    def run_line(self, prompt, line):
        """Run one line, print its output (paged) or its error with the caret."""
        bad = _CONTROL.search(line)
        shield = Shield(lambda: self.write(
            "\n% The commit cannot be interrupted: it completes or fails as a whole.\n"))
        revision = self.session.revision
        try:
            if bad:
                raise CliError("% Invalid input detected at '^' marker.", bad.start(),
                               ["% Control characters are not allowed."])
            if self.interp.may_commit(line):
                with shield:
                    self.interp.execute(line)
            else:
                self.interp.execute(line)
        except CliError as exc:
            self.flush()
            if exc.pos is not None:
                self.write(" " * (get_cwidth(prompt) + get_cwidth(line[:exc.pos])) + "^\n")
            self.write("\n".join(exc.lines()) + "\n")
        except (Leave, KeyboardInterrupt):
            raise
        except Exception as exc:                     # a bug must not end the user's session
            self.flush()
            self.write("%% Internal error: %s: %s\n" % (type(exc).__name__, exc))
        else:
            self.flush(paged=not _no_more(line))
        if shield.pressed:
            self.write("%% Ctrl-C came during the commit; %s; the candidate %s.\n" % (
                "running is now commit %s" % self.session.revision
                if self.session.revision != revision else
                "nothing was committed: running is still commit %s" % revision,
                "keeps uncommitted changes" if self.session.dirty() else
                "has no uncommitted changes"))

    # ---------------------------------------------------------------- output

    def write(self, text):
        self.output.write_raw(text.replace("\r\n", "\n").replace("\n", "\r\n"))
        self.output.flush()

    def size(self):
        rows, columns = self.output.get_size()
        length = self.interp.terminal.get("length", rows)
        return length, self.interp.terminal.get("width") or columns

    def flush(self, paged=False):
        """Print what the interpreter wrote, a page at a time (--More--) if asked to."""
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        length, width = self.size()
        lines = text.splitlines()
        if not paged or not length or _rows(lines, width) < length:
            self.write(text)
            return
        shown, budget = 0, length - 1
        while shown < len(lines):
            used = 0
            while shown < len(lines) and (used == 0 or used + _rows(lines[shown:shown + 1], width) <= budget):
                self.write(lines[shown] + "\n")
                used += _rows(lines[shown:shown + 1], width)
                shown += 1
            if shown >= len(lines):
                return
            answer = self._more()
            if answer == "quit":
                return
            budget = 1 if answer == "line" else length - 1

    def _more(self):
        keys = KeyBindings()
        for key, answer in (("<any>", "page"), ("enter", "line"), ("q", "quit"), ("Q", "quit"),
                            ("c-c", "quit"), ("escape", "quit")):
            keys.add(key)(lambda event, answer=answer: event.app.exit(result=answer))
        app = Application(layout=Layout(Window(FormattedTextControl(" --More-- "), height=1)),
                          key_bindings=keys, input=self.input, output=self.output,
                          erase_when_done=True)
        return app.run()

    # ---------------------------------------------------------------- announcements

    def _watch_confirmed(self, commit_id):
        """Announce at once, even at an idle prompt, if confirmed commit COMMIT_ID is
        rolled back."""
        def watch():
            message = confirm.outcome(self.session.directory, self.session.schema, commit_id)
            if message is None:
                return
            with self.announcing:
                self.announcements.append("% " + message)
            deadline = time.monotonic() + 3600
            while self.announcements and time.monotonic() < deadline:
                app = self.prompts.app
                if app.is_running and app.loop is not None:   # else the loop prints it
                    app.loop.call_soon_threadsafe(self._announce_above_prompt, app)
                time.sleep(0.2)
        threading.Thread(target=watch, daemon=True).start()

    def _announce_above_prompt(self, app):
        with set_app(app):
            run_in_terminal(self._announce)

    def _announce(self):
        with self.announcing:
            messages, self.announcements[:] = self.announcements[:], []
        for message in messages:
            self.write(message + "\n")

    # ---------------------------------------------------------------- hooks

    def _ask_leave(self, private):
        """What to do with uncommitted changes when leaving configuration mode (IOS-XR's
        question): yes, no or cancel."""
        self.flush()
        if not private:
            self.write("The shared candidate has uncommitted changes (by %s); 'no' leaves "
                       "them there.\n" % (", ".join(self.session.changed_by) or "an earlier session"))
        question = "Uncommitted changes found, commit them before exiting (yes/no/cancel)? [cancel]: "
        asker = PromptSession(input=self.input, output=self.output)
        while True:
            try:
                answer = asker.prompt(question).strip().lower() or "cancel"
            except (KeyboardInterrupt, EOFError):
                return "cancel"
            for choice in LEAVE_CHOICES:
                if choice.startswith(answer):
                    return choice
            self.write("% Please answer yes, no or cancel.\n")

    def _confirm(self, question):
        """Ask QUESTION until the answer is a prefix of yes or no (empty, Ctrl-C: no)."""
        self.flush()
        asker = PromptSession(input=self.input, output=self.output)
        while True:
            try:
                answer = asker.prompt(question).strip().lower() or "no"
            except (KeyboardInterrupt, EOFError):
                return False
            if "yes".startswith(answer) or "no".startswith(answer):
                return answer[0] == "y"

    # ---------------------------------------------------------------- keys

    def _list(self, event, lines, shown=None):
        """Leave the prompt (showing SHOWN, else the line) to print LINES paged, then
        prompt again with the line as it was."""
        buffer = event.current_buffer
        self.listing = (lines, buffer.text)
        if shown is not None:
            buffer.document = Document(shown)
        event.app.exit(result=LISTING)

    def _bindings(self):
        keys = KeyBindings()

        @keys.add("?")
        def _help(event):
            buffer = event.current_buffer
            text = buffer.document.text_before_cursor
            if _open_quote(text):
                buffer.insert_text("?")
                return
            self.session.refresh()
            lines = help_lines(self.interp, text, self.size()[1], get_cwidth(self.interp.prompt()))
            self._list(event, lines, shown=text + "?")

        @keys.add("tab")
        def _complete(event):
            """Readline's Tab, but a long list is paged like any output and asks nothing."""
            buffer = event.current_buffer
            found = list(buffer.completer.get_completions(buffer.document, CompleteEvent(completion_requested=True)))
            common = get_common_complete_suffix(buffer.document, found)
            if len(found) == 1:
                buffer.delete_before_cursor(-found[0].start_position)
                buffer.insert_text(found[0].text)
            elif common:
                buffer.insert_text(common)
            elif found:
                self._list(event, columns([c.display_text for c in found], self.size()[1]))

        @keys.add(Keys.BracketedPaste)
        def _paste(event):
            data = event.data.replace("\r\n", "\n").replace("\r", "\n")
            buffer = event.current_buffer
            if "\n" not in data:
                buffer.insert_text(data)
                return
            document = buffer.document
            text = document.text_before_cursor + data + document.text_after_cursor
            buffer.document = Document(text.split("\n")[0])    # what stays on the prompt line
            event.app.exit(result=PASTE + text)

        @keys.add("c-z")
        def _end(event):
            event.app.exit(result=CTRL_Z + event.current_buffer.text)

        return keys


def _caret_notation(match):
    return "^" + chr(ord(match.group()) ^ 64)


def _open_quote(text):
    try:
        tokenize(text)
    except LexError:
        return True
    return False


def _no_more(line):
    """Whether LINE asks for its output unpaged (| no-more)."""
    try:
        _command, stages = split_pipes(tokenize(line))
        return any(stage and Tokens(stage).try_keyword(STAGES) == "no-more" for stage in stages)
    except (LexError, ParseError):
        return False


def _rows(lines, width):
    """Terminal rows LINES take at WIDTH columns."""
    return sum(max(1, -(-get_cwidth(line) // max(width, 1))) for line in lines)


class _MaskedHistory(FileHistory):
    """The history file, with the values of secret leaves masked (shell/masking.py)."""

    def __init__(self, path, names):
        super().__init__(path)
        self.names = names

    def append_string(self, string):
        super().append_string(masking.mask(string, self.names))


def _history(session):
    """The user's command history, kept in the data directory."""
    directory = os.path.join(session.directory, "history")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        path = os.path.join(directory, re.sub(r"[^A-Za-z0-9._-]", "_", session.user))
        with open(path, "a+", encoding="utf-8") as handle:
            os.chmod(path, 0o600)
            if handle.tell() > HISTORY_BYTES:           # keep the newest half, whole entries
                handle.seek(handle.tell() - HISTORY_BYTES // 2)
                kept = handle.read()
                kept = kept[kept.find("\n# ") + 1:]
                handle.seek(0)
                handle.truncate()
                handle.write(kept)
        return _MaskedHistory(path, masking.secret_names(session.schema))
    except OSError:
        return InMemoryHistory()


def run(stdin, stdout, *, user, datastore, term=None, size=None, peer=""):
    """The shell on byte streams (an SSH channel): STDIN has recv(n) or read1(n), STDOUT
    write(bytes); SIZE is (rows, columns) or a callable returning it (window changes).
    The user's role comes from `system user`. Returns the exit status."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.vt100 import Vt100_Output

    from .. import audit
    from ..datastore.session import Session
    session = Session(datastore, user=user, client="ssh", peer=peer)
    try:
        role = session.role
        audit.login(session, role, "interactive shell")
        stream = _ByteWriter(stdout)
        if role is None:
            stream.write("%% Permission denied: %s is not a user of this system.\r\n" % user)
            return 1
        with create_pipe_input() as pipe:
            threading.Thread(target=_feed, args=(stdin, pipe), daemon=True).start()
            output = Vt100_Output(stream, lambda: _size(size), term=term or "vt100")
            try:
                return Shell(session, role, pipe, output).loop()
            except OSError:                        # the client hung up while we wrote
                return 0
    finally:
        session.close()


def _size(size):
    rows, columns = (size() if callable(size) else size) or (24, 80)
    return Size(rows=rows, columns=columns)


def _feed(stdin, pipe):
    read = getattr(stdin, "recv", None) or getattr(stdin, "read1", None) or stdin.read
    try:
        while True:
            data = read(4096)
            if not data:
                break
            pipe.send_bytes(data)
    except (OSError, ValueError):
        pass
    finally:
        pipe.close()


class _ByteWriter:
    """A text stream over a binary one (what Vt100_Output writes to)."""

    encoding = "utf-8"

    def __init__(self, raw):
        self.raw = raw

    def write(self, text):
        (getattr(self.raw, "sendall", None) or self.raw.write)(text.encode("utf-8", "replace"))

    def flush(self):
        if hasattr(self.raw, "flush"):
            self.raw.flush()

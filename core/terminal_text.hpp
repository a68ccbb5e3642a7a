// Text for an operator's terminal: what the audit commands print of what members wrote (titles,
// payloads, a read-model value) in their readable forms. Their JSON forms are data, printed as is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tasklog {

// `text` with every control character — C0, DEL and C1 (U+0080..U+009F) — shown as a \u escape.
// Raw, an ESC or a CSI (U+009B) in a task title would be a command to the terminal (clear the
// screen, set its title, OSC 52 writes the clipboard). JSON text stays JSON: the escapes are its
// own. Valid UTF-8 is assumed (every stored string is checked on the way in).
std::string for_terminal(std::string_view text);

// The first `characters` characters (code points) of valid UTF-8 `text`, all of it when it is no
// longer: a cut that never leaves half a character behind.
std::string_view first_characters(std::string_view text, std::size_t characters);

}  // namespace tasklog

import Foundation

/// The memory bars' colours in a terminal: the HTML report's colours
/// (``MemoryPart/stack``) as ANSI 24-bit escapes, used only when standard
/// output is a terminal, `NO_COLOR` is unset or empty (<https://no-color.org>)
/// and `TERM` is not `dumb`.
package enum TerminalColor {
  /// Whether to colour what goes to standard output.
  package static func enabled(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
    guard isatty(STDOUT_FILENO) == 1 else { return false }
    if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return false }
    return environment["TERM"] != "dumb"
  }

  /// `bar` with each run of one letter coloured as its segment: free memory (`.`)
  /// dim, the budget's end (`|`) bold, outside the budget (`-`) dim, past the card
  /// (`!`) bold red.
  package static func bar(_ bar: String) -> String {
    var out = ""
    var run = ""
    var current: Character?
    func flush() {
      guard let character = current, !run.isEmpty else { return }
      out += code(for: character) + run + "\u{1B}[0m"
      run = ""
    }
    for character in bar {
      if character != current {
        flush()
        current = character
      }
      run.append(character)
    }
    flush()
    return out
  }

  static func code(for character: Character) -> String {
    if let part = MemoryPart.stack.first(where: { $0.letter == character }) {
      let (r, g, b) = part.rgb
      return "\u{1B}[1;38;2;\(r);\(g);\(b)m"
    }
    switch character {
    case "|": return "\u{1B}[1m"
    case "!": return "\u{1B}[1;31m"
    default: return "\u{1B}[2m"
    }
  }
}

extension StringProtocol {
  /// The text without leading and trailing spaces, tabs, carriage returns and newlines.
  func trimmingWhitespace() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
    guard let first = firstIndex(where: { !isSpace($0) }),
      let last = lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(self[first...last])
  }

  /// Every occurrence of `target` replaced, without Foundation.
  func replacingAll(_ target: Character, with replacement: String) -> String {
    var result = ""
    for character in self {
      if character == target { result += replacement } else { result.append(character) }
    }
    return result
  }

  /// Whitespace-separated fields (spaces and tabs), empty fields dropped.
  func fields() -> [String] {
    String(self).split(whereSeparator: { (character: Character) in character == " " || character == "\t" })
      .map(String.init)
  }
}

extension String {
  /// The text with ANSI SGR escape sequences (`ESC [ … m`) removed. nvidia-smi
  /// underlines the `topo -m` header with them even when its output is piped.
  func strippingANSIEscapes() -> String {
    guard contains("\u{1B}") else { return self }
    var result = ""
    var iterator = makeIterator()
    while let character = iterator.next() {
      if character == "\u{1B}" {
        // Skip "[" parameters and the final letter.
        while let next = iterator.next() {
          if next.isLetter { break }
        }
      } else {
        result.append(character)
      }
    }
    return result
  }

  /// Lines split on `\n`, with a trailing `\r` removed from each.
  func textLines() -> [String] {
    // "\r\n" is one Character in Swift, so both separators are named.
    split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
      .map { line in line.hasSuffix("\r") ? String(line.dropLast()) : String(line) }
  }
}

/// A small, non-validating XML reader for the XML that GPU tools write:
/// `nvidia-smi -q -x` and NCCL topology dumps.
///
/// It reads elements, attributes, text, comments, CDATA, processing
/// instructions and a DOCTYPE (skipped), and decodes the five predefined
/// entities and numeric character references. It never fetches anything and
/// never expands external entities. Depth is capped (``maximumDepth``) so a
/// hostile file cannot exhaust the stack; memory is bounded by the size of the
/// input, which callers cap before reading.
package struct XMLTreeElement: Hashable, Sendable {
  /// The element's name, with any namespace prefix as written.
  package var name: String
  /// Attributes in document order.
  package var attributes: [(String, String)] {
    get { attributeStorage.map { ($0.name, $0.value) } }
    set { attributeStorage = newValue.map { Attribute(name: $0.0, value: $0.1) } }
  }
  /// Child elements in document order.
  package var children: [XMLTreeElement]
  /// The text directly inside this element, entities decoded, concatenated.
  package var text: String
  /// The 1-based line the start tag is on.
  package var line: Int

  struct Attribute: Hashable, Sendable {
    var name: String
    var value: String
  }
  var attributeStorage: [Attribute]

  init(name: String, attributes: [Attribute], line: Int) {
    self.name = name
    self.attributeStorage = attributes
    self.children = []
    self.text = ""
    self.line = line
  }

  /// The value of an attribute, or nil.
  package subscript(attribute name: String) -> String? {
    attributeStorage.first(where: { $0.name == name })?.value
  }

  /// The first child with this name.
  package func child(_ name: String) -> XMLTreeElement? {
    children.first(where: { $0.name == name })
  }

  /// All children with this name.
  package func children(named name: String) -> [XMLTreeElement] {
    children.filter { $0.name == name }
  }

  /// Follows a path of child names (`["fb_memory_usage", "total"]`) and returns the
  /// trimmed text at its end.
  package func text(at path: [String]) -> String? {
    var element = self
    for name in path {
      guard let next = element.child(name) else { return nil }
      element = next
    }
    return element.text.trimmingWhitespace()
  }

  /// This element and all its descendants, depth first, in document order.
  package func descendants(named name: String) -> [XMLTreeElement] {
    var found: [XMLTreeElement] = []
    var stack: [XMLTreeElement] = [self]
    while let element = stack.popLast() {
      if element.name == name { found.append(element) }
      stack.append(contentsOf: element.children.reversed())
    }
    return found
  }
}

/// Parses XML text into its root element.
package enum XMLTree {
  /// Deeper nesting than this is rejected as malformed.
  package static let maximumDepth = 256

  /// Parses `text` and returns the root element.
  ///
  /// - Throws: ``InputError`` (`malformed`) naming `source` and the line.
  /// - Complexity: O(n) in the length of the text.
  package static func parse(_ text: String, source: String) throws -> XMLTreeElement {
    var parser = Parser(bytes: Array(text.utf8), source: source)
    return try parser.parseDocument()
  }

  private struct Parser {
    let bytes: [UInt8]
    let source: String
    var position = 0
    var line = 1

    init(bytes: [UInt8], source: String) {
      self.bytes = bytes
      self.source = source
    }

    func error(_ message: String, expected: String? = nil) -> InputError {
      InputError(
        .malformed,
        source: source,
        line: line,
        message: message,
        expected: expected,
        fix: "Check that the file is complete and was not edited by hand"
      )
    }

    var atEnd: Bool { position >= bytes.count }

    func peek(_ offset: Int = 0) -> UInt8? {
      let index = position + offset
      return index < bytes.count ? bytes[index] : nil
    }

    mutating func advance() {
      if bytes[position] == UInt8(ascii: "\n") { line += 1 }
      position += 1
    }

    func starts(with literal: String) -> Bool {
      let utf8 = Array(literal.utf8)
      guard position + utf8.count <= bytes.count else { return false }
      return Array(bytes[position..<(position + utf8.count)]) == utf8
    }

    mutating func skip(past literal: String, what: String) throws {
      let utf8 = Array(literal.utf8)
      while !atEnd {
        if starts(with: literal) {
          for _ in 0..<utf8.count { advance() }
          return
        }
        advance()
      }
      throw error("unterminated \(what)", expected: "'\(literal)'")
    }

    mutating func skipWhitespace() {
      while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
        advance()
      }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
        UInt8(ascii: "."), UInt8(ascii: ":"):
        return true
      default:
        return byte >= 0x80
      }
    }

    mutating func parseName() throws -> String {
      let start = position
      while let byte = peek(), Self.isNameByte(byte) { advance() }
      guard position > start else { throw error("expected a name", expected: "a tag or attribute name") }
      return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// Skips the prolog and misc items: declarations, comments, DOCTYPE, whitespace.
    mutating func skipMisc() throws {
      while true {
        skipWhitespace()
        if starts(with: "<?") {
          try skip(past: "?>", what: "processing instruction")
        } else if starts(with: "<!--") {
          try skip(past: "-->", what: "comment")
        } else if starts(with: "<!DOCTYPE") || starts(with: "<!doctype") {
          try skipDoctype()
        } else {
          return
        }
      }
    }

    mutating func skipDoctype() throws {
      var bracketDepth = 0
      while !atEnd {
        let byte = bytes[position]
        advance()
        if byte == UInt8(ascii: "[") { bracketDepth += 1 }
        if byte == UInt8(ascii: "]") { bracketDepth -= 1 }
        if byte == UInt8(ascii: ">") && bracketDepth <= 0 { return }
      }
      throw error("unterminated DOCTYPE", expected: "'>'")
    }

    mutating func parseDocument() throws -> XMLTreeElement {
      try skipMisc()
      guard peek() == UInt8(ascii: "<") else {
        throw error("no root element", expected: "'<' starting the root element")
      }
      let root = try parseElement(depth: 0)
      try skipMisc()
      guard atEnd else {
        throw error("content after the root element", expected: "the end of the document")
      }
      return root
    }

    mutating func parseElement(depth: Int) throws -> XMLTreeElement {
      guard depth < XMLTree.maximumDepth else {
        throw error("elements nested deeper than \(XMLTree.maximumDepth) levels")
      }
      let startLine = line
      advance()  // "<"
      let name = try parseName()
      var attributes: [XMLTreeElement.Attribute] = []
      while true {
        skipWhitespace()
        guard let byte = peek() else { throw error("unterminated start tag <\(name)>") }
        if byte == UInt8(ascii: "/") {
          advance()
          guard peek() == UInt8(ascii: ">") else { throw error("expected '>' after '/' in <\(name)>") }
          advance()
          return XMLTreeElement(name: name, attributes: attributes, line: startLine)
        }
        if byte == UInt8(ascii: ">") {
          advance()
          break
        }
        let attributeName = try parseName()
        skipWhitespace()
        guard peek() == UInt8(ascii: "=") else {
          throw error("attribute \(attributeName) of <\(name)> has no value", expected: "'='")
        }
        advance()
        skipWhitespace()
        guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
          throw error("attribute \(attributeName) of <\(name)> is not quoted", expected: "a quote")
        }
        advance()
        let valueStart = position
        while let byte = peek(), byte != quote {
          if byte == UInt8(ascii: "<") { throw error("'<' inside attribute \(attributeName)") }
          advance()
        }
        guard !atEnd else { throw error("unterminated value of attribute \(attributeName)") }
        let raw = String(decoding: bytes[valueStart..<position], as: UTF8.self)
        advance()
        attributes.append(.init(name: attributeName, value: try decodeEntities(raw)))
      }
      var element = XMLTreeElement(name: name, attributes: attributes, line: startLine)
      var textBytes: [UInt8] = []
      while true {
        guard let byte = peek() else { throw error("element <\(name)> is not closed", expected: "</\(name)>") }
        if byte != UInt8(ascii: "<") {
          textBytes.append(byte)
          advance()
          continue
        }
        if starts(with: "</") {
          advance()
          advance()
          let closing = try parseName()
          skipWhitespace()
          guard closing == name, peek() == UInt8(ascii: ">") else {
            throw error("</\(closing)> closes <\(name)>", expected: "</\(name)>")
          }
          advance()
          element.text = try decodeEntities(String(decoding: textBytes, as: UTF8.self))
          return element
        } else if starts(with: "<!--") {
          try skip(past: "-->", what: "comment")
        } else if starts(with: "<![CDATA[") {
          for _ in 0..<9 { advance() }
          let start = position
          try skip(past: "]]>", what: "CDATA section")
          // CDATA is literal: escape '&' so entity decoding leaves it alone.
          for byte in bytes[start..<(position - 3)] {
            if byte == UInt8(ascii: "&") {
              textBytes.append(contentsOf: Array("&amp;".utf8))
            } else {
              textBytes.append(byte)
            }
          }
        } else if starts(with: "<?") {
          try skip(past: "?>", what: "processing instruction")
        } else {
          element.children.append(try parseElement(depth: depth + 1))
        }
      }
    }

    func decodeEntities(_ raw: String) throws -> String {
      guard raw.contains("&") else { return raw }
      var result = ""
      var index = raw.startIndex
      while index < raw.endIndex {
        let character = raw[index]
        guard character == "&" else {
          result.append(character)
          index = raw.index(after: index)
          continue
        }
        guard let semicolon = raw[index...].firstIndex(of: ";"),
          raw.distance(from: index, to: semicolon) <= 12
        else { throw error("unterminated entity reference", expected: "';'") }
        let name = raw[raw.index(after: index)..<semicolon]
        switch name {
        case "lt": result.append("<")
        case "gt": result.append(">")
        case "amp": result.append("&")
        case "quot": result.append("\"")
        case "apos": result.append("'")
        default:
          var digits = Substring(name)
          var radix = 10
          guard digits.first == "#" else { throw error("unknown entity &\(name);") }
          digits = digits.dropFirst()
          if digits.first == "x" || digits.first == "X" {
            radix = 16
            digits = digits.dropFirst()
          }
          guard let value = UInt32(digits, radix: radix), let scalar = Unicode.Scalar(value) else {
            throw error("bad character reference &\(name);")
          }
          result.unicodeScalars.append(scalar)
        }
        index = raw.index(after: semicolon)
      }
      return result
    }
  }
}

import Foundation

/// A parsed JSON value, for reading config.json and safetensors headers with
/// exact integers (64-bit) and without `Any`.
package enum JSONValue: Hashable, Sendable, Decodable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Parses JSON text as Python's `json` module (and so transformers) reads it:
  /// a key given twice keeps its last value, and the bare words `Infinity`,
  /// `-Infinity` and `NaN` that Python writes are numbers (transformers' Mamba-2
  /// configs: `"time_step_limit": [0.0, Infinity]`). Integers are exact to 64
  /// bits; nesting deeper than 512 levels is refused.
  package static func parse(_ data: Data, source: String, maximumValues: Int = 1 << 20) throws -> JSONValue {
    // Read in place: a copy of a 100 MB safetensors header would double its cost.
    try data.withUnsafeBytes { raw in
      var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self), source: source, maximumValues: maximumValues)
      return try parser.document()
    }
  }

  package init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  package subscript(key: String) -> JSONValue? {
    if case .object(let object) = self { return object[key] }
    return nil
  }

  package var intValue: Int64? {
    switch self {
    case .int(let value): value
    case .double(let value) where value.rounded() == value && abs(value) < 9e15: Int64(value)
    default: nil
    }
  }

  package var doubleValue: Double? {
    switch self {
    case .int(let value): Double(value)
    case .double(let value): value
    default: nil
    }
  }

  package var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  package var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  package var arrayValue: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  package var objectValue: [String: JSONValue]? {
    if case .object(let value) = self { return value }
    return nil
  }
}

/// A JSON reader of one document, byte by byte, with the line of every error.
struct JSONParser {
  let bytes: UnsafeBufferPointer<UInt8>
  let source: String
  var index = 0
  var depth = 0
  var values = 0
  /// Values (numbers, strings, arrays, objects …) the document may hold: parsed,
  /// each takes about 35 bytes, so 16 MiB of `[1,1,1,…]` would take 280 MB.
  let maximumValues: Int
  /// Nesting levels a document may have.
  static let maximumDepth = 512

  init(bytes: UnsafeBufferPointer<UInt8>, source: String, maximumValues: Int) {
    self.bytes = bytes
    self.source = source
    self.maximumValues = maximumValues
  }

  func error(_ message: String) -> InputError {
    let line = bytes[..<min(index, bytes.count)].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    return InputError(
      .malformed,
      source: source,
      line: line,
      message: "not valid JSON (\(message))",
      fix: "Check that the file is complete; re-download it if it was cut short"
    )
  }

  mutating func document() throws -> JSONValue {
    // A UTF-8 byte-order mark is skipped, as Python's json.load does not but editors write.
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    skipSpace()
    let value = try parseValue()
    skipSpace()
    guard index == bytes.count else { throw error("unexpected text after the value at byte \(index)") }
    return value
  }

  mutating func skipSpace() {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }

  mutating func expect(_ word: String) throws {
    let utf8 = Array(word.utf8)
    guard bytes.count - index >= utf8.count, Array(bytes[index..<(index + utf8.count)]) == utf8 else {
      throw error("expected '\(word)' at byte \(index)")
    }
    index += utf8.count
  }

  mutating func parseValue() throws -> JSONValue {
    guard index < bytes.count else { throw error("the text ends where a value should be") }
    values += 1
    guard values <= maximumValues else {
      throw error("more than \(maximumValues) values; no file of this kind holds that many")
    }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try expect("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expect("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expect("null")
      return .null
    case UInt8(ascii: "N"):
      try expect("NaN")
      return .double(.nan)
    case UInt8(ascii: "I"):
      try expect("Infinity")
      return .double(.infinity)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))' at byte \(index)")
    }
  }

  mutating func nest() throws {
    depth += 1
    guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
  }

  mutating func parseObject() throws -> JSONValue {
    try nest()
    defer { depth -= 1 }
    index += 1
    var object: [String: JSONValue] = [:]
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object(object)
    }
    while true {
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
        throw error("expected a key at byte \(index)")
      }
      let key = try parseString()
      skipSpace()
      try expect(":")
      skipSpace()
      object[key] = try parseValue()  // the last of a repeated key wins, as in Python
      skipSpace()
      guard index < bytes.count else { throw error("the text ends inside an object") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}' at byte \(index)") }
      index += 1
      return .object(object)
    }
  }

  mutating func parseArray() throws -> JSONValue {
    try nest()
    defer { depth -= 1 }
    index += 1
    var array: [JSONValue] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(array)
    }
    while true {
      skipSpace()
      array.append(try parseValue())
      skipSpace()
      guard index < bytes.count else { throw error("the text ends inside an array") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']' at byte \(index)") }
      index += 1
      return .array(array)
    }
  }

  mutating func hexQuad() throws -> UInt32 {
    guard bytes.count - index >= 4 else { throw error("a \\u escape is cut short") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[index]
      let digit: UInt32
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
      default: throw error("a \\u escape has a non-hex digit at byte \(index)")
      }
      value = value << 4 | digit
      index += 1
    }
    return value
  }

  mutating func parseString() throws -> String {
    index += 1
    var out: [UInt8] = []
    while true {
      guard index < bytes.count else { throw error("a string is not closed") }
      let byte = bytes[index]
      index += 1
      switch byte {
      case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
      case UInt8(ascii: "\\"):
        guard index < bytes.count else { throw error("a string ends in an escape") }
        let escape = bytes[index]
        index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hexQuad()
          if (0xD800..<0xDC00).contains(scalar), bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
            bytes[index + 1] == UInt8(ascii: "u")
          {
            index += 2
            let low = try hexQuad()
            if (0xDC00..<0xE000).contains(low) { scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) }
          }
          out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
        default: throw error("unknown escape at byte \(index - 1)")
        }
      case 0..<0x20: throw error("a control character inside a string at byte \(index - 1)")
      default: out.append(byte)
      }
    }
  }

  mutating func parseNumber() throws -> JSONValue {
    let start = index
    if bytes[index] == UInt8(ascii: "-") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "I") {
        try expect("Infinity")
        return .double(-.infinity)
      }
    }
    var integral = true
    while index < bytes.count {
      let byte = bytes[index]
      if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
        index += 1
      } else if [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")]
        .contains(byte)
      {
        integral = false
        index += 1
      } else {
        break
      }
    }
    let text = String(decoding: bytes[start..<index], as: UTF8.self)
    if integral, let value = Int64(text) { return .int(value) }
    guard let value = Double(text), text.last.map({ $0.isNumber }) == true else {
      throw error("'\(text)' is not a number")
    }
    return .double(value)
  }
}

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

  /// Parses JSON text. Nesting is bounded by Foundation's parser; callers bound
  /// the input size.
  package static func parse(_ data: Data, source: String) throws -> JSONValue {
    do {
      do {
        return try JSONDecoder().decode(JSONValue.self, from: data)
      } catch {
        // Python's json module writes Infinity and NaN as bare words (transformers'
        // Mamba-2 configs: "time_step_limit": [0.0, Infinity]); JSON5 reads them.
        guard data.range(of: Data("Infinity".utf8)) != nil || data.range(of: Data("NaN".utf8)) != nil else {
          throw error
        }
        let lenient = JSONDecoder()
        lenient.allowsJSON5 = true
        return try lenient.decode(JSONValue.self, from: data)
      }
    } catch let error as DecodingError {
      var detail = "\(error)"
      if case .dataCorrupted(let context) = error {
        detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
      }
      throw InputError(
        .malformed,
        source: source,
        message: "not valid JSON (\(detail))",
        fix: "Check that the file is complete; re-download it if it was cut short"
      )
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

import Foundation

/// Checks a JSON value against the subset of JSON Schema (2020-12) that
/// `Schemas/*.schema.json` use: `type` (one or a list), `properties`, `required`,
/// `additionalProperties: false`, `items`, `enum` and `const`. Returns every
/// violation with its JSON path; an empty list means the value conforms.
public enum JSONSchemaCheck {
  /// The violations of `schema` by `value`, each naming its JSON path from `path`.
  public static func violations(_ value: Any, schema: [String: Any], path: String = "$") -> [String] {
    var found: [String] = []
    if let types = schema["type"] {
      let names = (types as? [String]) ?? [types as? String].compactMap { $0 }
      if !names.contains(where: { matches(value, type: $0) }) {
        return ["\(path): \(kind(value)) where \(names.joined(separator: " or ")) is expected"]
      }
    }
    if let options = schema["enum"] as? [Any], !options.contains(where: { equal($0, value) }) {
      found.append("\(path): \(value) is not one of \(options)")
    }
    if let constant = schema["const"], !equal(constant, value) {
      found.append("\(path): \(value) is not \(constant)")
    }
    if let object = value as? [String: Any] {
      let properties = schema["properties"] as? [String: Any] ?? [:]
      for key in (schema["required"] as? [String] ?? []) where object[key] == nil {
        found.append("\(path): '\(key)' is missing")
      }
      for (key, item) in object.sorted(by: { $0.key < $1.key }) {
        if let property = properties[key] as? [String: Any] {
          found += violations(item, schema: property, path: "\(path).\(key)")
        } else if schema["additionalProperties"] as? Bool == false {
          found.append("\(path): '\(key)' is not in the schema")
        }
      }
    }
    if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
      for (index, item) in array.enumerated() { found += violations(item, schema: items, path: "\(path)[\(index)]") }
    }
    return found
  }

  static func matches(_ value: Any, type: String) -> Bool {
    switch type {
    case "object": value is [String: Any]
    case "array": value is [Any]
    case "string": value is String
    // Foundation's JSON numbers are NSNumbers; a JSON true or false is one of
    // Objective-C type "c" (`1 is Bool` is true on Linux, so that test would not do).
    case "boolean": (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
    case "integer":
      if let number = value as? NSNumber, !matches(value, type: "boolean") {
        number.doubleValue.rounded() == number.doubleValue
      } else {
        false
      }
    case "number": value is NSNumber && !matches(value, type: "boolean")
    case "null": value is NSNull
    default: false
    }
  }

  static func kind(_ value: Any) -> String {
    ["object", "array", "string", "boolean", "integer", "number", "null"].first { matches(value, type: $0) } ?? "?"
  }

  static func equal(_ a: Any, _ b: Any) -> Bool {
    switch (a, b) {
    case (let x as String, let y as String): x == y
    case (let x as NSNumber, let y as NSNumber): x == y
    default: false
    }
  }
}

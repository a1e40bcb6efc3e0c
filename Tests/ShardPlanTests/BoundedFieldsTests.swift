import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Every size a config.json states is range-checked where it is read (issue 13,
/// item 1): each bounded key that a real config of each family holds (its
/// transformers default, and every bundled model's), set to −1, 2^62, Int64.max,
/// 1e300 or 2.5, is refused with an InputError naming that key, and set to 0 it is
/// read or refused but never traps.
@Suite("Bounded config fields")
struct BoundedFieldsTests {
  static var configs: [(name: String, json: [String: Any])] {
    var files =
      (try? FileManager.default.contentsOfDirectory(atPath: Repository.path("Tests/ShardPlanTests/Fixtures/families")))
      ?? []
    files = files.filter { $0.hasSuffix(".config.json") }.map { "Tests/ShardPlanTests/Fixtures/families/\($0)" }
    files += ((try? FileManager.default.contentsOfDirectory(atPath: Repository.path("Models"))) ?? [])
      .filter { $0.hasSuffix(".config.json") }.map { "Models/\($0)" }
    return files.sorted().compactMap { file in
      guard let data = FileManager.default.contents(atPath: Repository.path(file)),
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
      else { return nil }
      return (file, json)
    }
  }

  @Test func everyBoundedKeyIsCheckedAtRead() throws {
    let hostile: [(String, Any)] = [
      ("-1", -1), ("2^62", 1 << 62), ("Int64.max", Int64.max), ("1e300", 1e300), ("2.5", 2.5),
    ]
    var refused = 0
    var zeros = 0
    for (file, json) in Self.configs {
      for (path, key) in Self.boundedKeys(json) {
        for (label, value) in hostile {
          let data = try JSONSerialization.data(withJSONObject: Self.setting(json, path: path, key: key, to: value))
          do {
            let spec = try HFConfigReader.read(data, name: "hostile", source: file)
            Issue.record("\(file): \(path + key) = \(label) was read (\(spec.parameters) parameters)")
          } catch let error as InputError {
            // A nested text_config is read as a config of its own: its keys are named bare.
            #expect(error.field == path + key || error.field == key, "\(file): \(path + key) = \(label): \(error)")
            refused += 1
          }
        }
        // Zero is inside some ranges (experts, MLP width, heads of a layer without
        // attention): read or refused, it must not trap.
        let data = try JSONSerialization.data(withJSONObject: Self.setting(json, path: path, key: key, to: 0))
        _ = try? HFConfigReader.read(data, name: "zero", source: file)
        zeros += 1
      }
    }
    // The family fixtures and bundled models hold 471 bounded keys between them.
    #expect(refused >= 2350, "\(refused) refusals")
    #expect(zeros * hostile.count == refused)
  }

  /// The bounded keys a config holds, at its top level and in `text_config`.
  static func boundedKeys(_ json: [String: Any]) -> [(path: String, key: String)] {
    var keys: [(String, String)] = []
    for (path, object) in [("", json), ("text_config.", json["text_config"] as? [String: Any] ?? [:])] {
      for key in object.keys.sorted()
      where FieldBounds.configKeys[key] != nil && key != "top_k" && object[key] is NSNumber {
        keys.append((path, key))
      }
    }
    return keys
  }

  static func setting(_ json: [String: Any], path: String, key: String, to value: Any) -> [String: Any] {
    var json = json
    if path.isEmpty {
      json[key] = value
    } else {
      var nested = json["text_config"] as? [String: Any] ?? [:]
      nested[key] = value
      json["text_config"] = nested
    }
    return json
  }
}

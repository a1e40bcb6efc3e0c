import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Inputs the fuzzer once broke the readers with (Fuzz/Regressions); each must
/// now be read, or refused with an InputError, promptly.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
  static var files: [String] {
    let folder = Repository.path("Fuzz/Regressions")
    return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted().map { "\(folder)/\($0)" }
  }

  @Test func everyRegressionFinishes() throws {
    #expect(!Self.files.isEmpty)
    for file in Self.files {
      let data = try Data(contentsOf: URL(fileURLWithPath: file))
      let text = String(decoding: data, as: UTF8.self)
      let start = Date()
      _ = try? NvidiaSmiText.read(text, source: file)
      _ = try? NvidiaSmiXML.read(text, source: file)
      _ = try? NCCLTopologyXML.read(text, source: file)
      _ = try? TopologyFile.read(text, source: file)
      _ = Layout.read(text, source: file)
      #expect(Date().timeIntervalSince(start) < 5, "\(file)")
    }
  }
}

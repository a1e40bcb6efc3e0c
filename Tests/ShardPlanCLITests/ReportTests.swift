import Foundation
import ShardPlan
import Testing
import _ShardPlanTestSupport

/// `--format html`: each page is one self-contained file (no scripts, no
/// network, nothing fetched), and its SVG holds one element per thing it draws:
/// a node per GPU, a line per pair of GPUs in a host, a drop per host onto the
/// network, a bar per GPU budget with a segment per non-zero part. The expected
/// counts come from the JSON of the same command, not from the page.
/// (`Scripts/check-report.sh` renders the same pages in headless Chromium.)
@Suite("HTML report")
struct ReportTests {
  static let scenarios: [[String]] = [
    ["plan", "Qwen/Qwen2.5-72B", "--topology", "2x-rtx-pro-6000-blackwell", "--context", "32768"],
    ["plan", "deepseek-ai/DeepSeek-V3", "--topology", "2x8-h100-ib", "--context", "32768", "--concurrency", "64"],
    ["plan", "meta-llama/Llama-3.1-70B", "--topology", "4x-rtx-4090", "--context", "8192"],
    ["plan", "meta-llama/Llama-3.1-70B", "--quant", "q4_k_m", "--topology", "desktop-rtx-3060-12gb"],
    ["validate", "Examples/layouts/llama70b-pp2-2x-rtx-pro-6000.yaml"],
    ["topology", "4x8-h100-ib"],
  ]

  static func count(_ needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
  }

  static func json(_ arguments: [String]) throws -> [String: Any] {
    let result = try CLITests.run(arguments + ["--format", "json"])
    return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
  }

  @Test(arguments: scenarios)
  func pageDrawsWhatTheJSONHolds(_ arguments: [String]) throws {
    let page = try CLITests.run(arguments + ["--format", "html"])
    let html = page.stdout
    #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"), "\(page.stderr)")
    // Self-contained: no scripts, no resources, nothing but the SVG namespace as a URL.
    for forbidden in ["<script", " src=", " href=", "url(", "@import", "<link", "<iframe", "<img"] {
      #expect(!html.contains(forbidden), "\(arguments): \(forbidden)")
    }
    let urls = html.components(separatedBy: "http").count - 1
    #expect(urls == Self.count("xmlns=\"http://www.w3.org/2000/svg\"", in: html), "\(arguments): \(urls) URLs")

    // The graph: from the topology's own JSON.
    let topology: String =
      switch arguments[0] {
      case "topology": arguments[1]
      case "validate": "2x-rtx-pro-6000-blackwell"
      default: arguments[arguments.firstIndex(of: "--topology")! + 1]
      }
    let graph = try Self.json(["topology", topology])
    let gpus = try #require(graph["gpus"] as? [[String: Any]])
    let hosts = try #require(graph["hosts"] as? [[String: Any]])
    let links = try #require(graph["links"] as? [[String: Any]])
    let hostOf = Dictionary(uniqueKeysWithValues: gpus.map { ($0["index"] as! Int, $0["host"] as! Int) })
    let withinHosts = links.filter { hostOf[$0["from"] as! Int] == hostOf[$0["to"] as! Int] }.count
    #expect(Self.count("class=\"gpu-node\"", in: html) == gpus.count, "\(arguments)")
    #expect(Self.count("class=\"link link-", in: html) == withinHosts + (hosts.count > 1 ? hosts.count : 0))
    #expect(Self.count("link-between-hosts", in: html) == (hosts.count > 1 ? hosts.count : 0))
    #expect(Self.count("<td class=\"kind-", in: html) == (gpus.count <= 16 ? links.count * 2 : 0))
    guard arguments[0] != "topology" else {
      #expect(!html.contains("memory-bar"))
      return
    }

    // The bars: from the plan's JSON (validate's holds its plan under "plan").
    var plan = try Self.json(arguments)
    if arguments[0] == "validate" { plan = try #require(plan["plan"] as? [String: Any]) }
    let devices = try #require(plan["devices"] as? [[String: Any]])
    #expect(Self.count("class=\"memory-bar ", in: html) == devices.count)
    for (key, field) in [("weights", "weightBytes"), ("kv", "kvCacheBytes"), ("overheads", "overheadBytes")] {
      let nonZero = devices.filter { ($0[field] as? Int ?? 0) > 0 }.count
      #expect(Self.count("class=\"segment segment-\(key)\"", in: html) == nonZero, "\(arguments): \(key)")
    }
    #expect(Self.count("class=\"budget-mark\"", in: html) == devices.count)
    let verdict = try #require(plan["verdict"] as? String)
    #expect(html.contains("<span class=\"verdict verdict-\(verdict)\">\(verdict)</span>"))
    let parts = [
      "otherBytes", "weightBytes", "gradientBytes", "optimizerBytes", "kvCacheBytes", "activationBytes",
      "overheadBytes",
    ]
    let overCapacity = devices.filter { device in
      parts.map { max(device[$0] as? Int ?? 0, 0) }.reduce(0, +) > (device["memoryBytes"] as? Int ?? 0)
    }.count
    #expect(Self.count("class=\"capacity-mark\"", in: html) == overCapacity)
    let fixes = (plan["fixes"] as? [Any])?.count ?? 0
    #expect(html.contains("<section id=\"fixes\">") == (fixes > 0))
    // A plan that fits shows its launch files, the first one open.
    if arguments[0] == "plan" {
      #expect((Self.count("class=\"launch-file\"", in: html) > 0) == (verdict != "does-not-fit"))
    }
  }

  /// Text from a model or a file is escaped: a role name with markup stays text.
  @Test func textIsEscaped() {
    #expect(HTMLReport.escape("<b a=\"1\">&'</b>") == "&lt;b a=&quot;1&quot;&gt;&amp;&#39;&lt;/b&gt;")
  }
}

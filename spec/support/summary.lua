-- busted output: the gtest handler's per-test lines, then one closing line
-- "N passed, N failed" that CI reads (errors count as failures).
return function(options)
  local busted = require "busted"
  local handler = require "busted.outputHandlers.gtest"(options)

  busted.subscribe({ "suite", "end" }, function()
    local failed = #handler.failures + #handler.errors
    io.write(("%d passed, %d failed"):format(#handler.successes, failed))
    if #handler.pendings > 0 then io.write((", %d skipped"):format(#handler.pendings)) end
    io.write("\n")
    io.flush()
    return nil, true
  end)

  return handler
end

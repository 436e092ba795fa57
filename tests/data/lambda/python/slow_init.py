# A module whose init (import) takes longer than its function's 1 s test timeout: Lambda's Init
# phase has its own limit, so the invocation must still run.
import time

print("slow init starting", flush=True)
time.sleep(1.5)


def handler(event, context):
    return {"remaining_ms": context.get_remaining_time_in_millis()}

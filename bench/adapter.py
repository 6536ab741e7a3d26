"""The adapter a user writes by hand for one SOAP operation: FastAPI and zeep's synchronous
client, the way their tutorials show it. A benchmark baseline, not part of the facade.

    CRM_WSDL=wsdl/crm.wsdl CRM_URL=http://127.0.0.1:8081/crm \
        uvicorn --app-dir bench adapter:app --port 8090
"""

from __future__ import annotations

import os
from typing import Any

import zeep
from fastapi import FastAPI, HTTPException
from zeep.helpers import serialize_object

client = zeep.Client(os.environ.get("CRM_WSDL", "wsdl/crm.wsdl"))
service = client.create_service(
    "{http://example.com/crm}CrmServiceSoap", os.environ.get("CRM_URL", "http://127.0.0.1:8081/crm")
)
app = FastAPI(title="Hand-written CRM adapter")


@app.get("/v1/customers/{customer_id}")
def get_customer(customer_id: int) -> Any:
    try:
        customer = service.GetCustomer(CustomerId=customer_id)
    except zeep.exceptions.Fault as fault:
        raise HTTPException(status_code=404, detail=fault.message) from fault
    return serialize_object(customer, dict)

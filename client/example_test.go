package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coc-bridge/coc-bridge/client"
	"github.com/coc-bridge/coc-bridge/client/coctest"
)

// Example creates an issue ticket in a fake COC, reads it back and finds
// it again by source_id.
func Example() {
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC) }
	fake := coctest.New(coctest.Options{AccessKey: "AK", SecretKey: "SK", NowFunc: now})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	c, err := client.New(client.Options{
		Endpoint:    srv.URL, // or "https://coc.myhuaweicloud.com", or "cn-north-4"
		Credentials: client.StaticCredentials{AccessKey: "AK", SecretKey: "SK"},
		Registerer:  prometheus.NewRegistry(),
		NowFunc:     now,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	res, err := c.CreateIssueTicket(ctx, client.CreateTicketRequest{
		Title:               "[FIRING:1] DiskFull node-7",
		Description:         "[Symptom] disk /var at 97%\n[Impact on the live network] writes failing",
		EnterpriseProject:   "0",
		TicketType:          "issues_type_1000",
		VirtualScheduleType: "issues_mgmt_virtual_schedule_type_2000",
		IssueContactPerson:  "51875a8200fd45189f94745678545bc3",
		Level:               "issues_level_2000",
		Source:              "issues_mgmt_associated_type_2000",
		SourceID:            "9c1185a5",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("created", res.TicketID)

	_ = fake.Complete(res.TicketID)
	t, err := c.GetTicket(ctx, res.TicketID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status", t.WorkFlowStatus, t.StatusName())

	found, err := c.FindTicketsBySourceID(ctx, "9c1185a5")
	fmt.Println("found", len(found), err)
	// Output:
	// created ISU2026112310153000000000001
	// status issues_work_flow_status_12000 Completed
	// found 1 <nil>
}

// ExampleSign signs a request at a fixed time; the result is the one the
// official SDK computes (signing vector show_issue_ticket).
func ExampleSign() {
	req, _ := http.NewRequest(http.MethodGet,
		"https://coc.myhuaweicloud.com/v1/issues_mgmt/tickets/ISU20250709150841010733591", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Host", "coc.myhuaweicloud.com") // explicit: Host is signed
	req.Header.Set("X-Domain-Id", "6f1c0d2a9b3e4f5a8c7d6e5f4a3b2c1d")
	creds := client.Credentials{AccessKey: "HWCEXAMPLEAK0000001A", SecretKey: "s3cr3tK3y/EXAMPLE+0123456789abcdefGHIJKL"}
	at := time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC)
	if err := client.Sign(req, nil, creds, at); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Header.Get("X-Sdk-Date"))
	fmt.Println(req.Header.Get("Authorization"))
	fmt.Printf("%v\n", creds)
	// Output:
	// 20261123T101530Z
	// SDK-HMAC-SHA256 Access=HWCEXAMPLEAK0000001A, SignedHeaders=host;x-domain-id;x-sdk-date, Signature=73d4692f52e4eb47825b1aac45f0d070ace9eebc91bdd78c8af329af0d7cc40b
	// {HWCEXAMPLEAK0000001A <secret> <secret>}
}

// ExampleClassify shows how a caller reacts to the class of an error.
func ExampleClassify() {
	fake := coctest.New(coctest.Options{AccessKey: "AK", SecretKey: "SK"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, _ := client.New(client.Options{
		Endpoint:    srv.URL,
		Credentials: client.StaticCredentials{AccessKey: "AK", SecretKey: "SK"},
	})

	fake.DropAfterCreate(1) // COC stores the ticket, the answer is lost
	_, err := c.CreateIssueTicket(context.Background(), client.CreateTicketRequest{
		Description: "d", EnterpriseProject: "0", TicketType: "issues_type_1000",
		VirtualScheduleType: "issues_mgmt_virtual_schedule_type_1000",
		Source:              "issues_mgmt_associated_type_2000", SourceID: "key-1",
	})
	switch client.Classify(err) {
	case client.ClassAmbiguous:
		found, _ := c.FindTicketsBySourceID(context.Background(), "key-1")
		fmt.Println("ambiguous; found by source_id:", len(found))
	case client.ClassRetryable:
		fmt.Println("retry later")
	case client.ClassPermanent:
		fmt.Println("dead letter")
	}

	_, err = c.GetTicket(context.Background(), "ISU-unknown")
	var ce *client.Error
	fmt.Println(client.IsTicketNotFound(err), errors.As(err, &ce) && ce.Code == client.CodeTicketNotFound)
	// Output:
	// ambiguous; found by source_id: 1
	// true true
}

// ExampleResolveEndpoint turns a region id into COC's base URL.
func ExampleResolveEndpoint() {
	u, _ := client.ResolveEndpoint("ap-southeast-3")
	fmt.Println(u)
	// Output: https://coc-intl.myhuaweicloud.com
}
